package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// StartAzurite starts Azurite's blob service (npm, test/emulators) with
// this test binary's account and random key, persisting to its data
// directory.
func StartAzurite(t testing.TB) *Emulator {
	t.Helper()
	Setup()
	root := Root(t)
	main := filepath.Join(root, "test", "emulators", "node_modules", "azurite", "dist", "src", "blob", "main.js")
	need(t, "azure", main, "make emulators")
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("azure emulator needs node on PATH: %v", err)
	}
	e := newEmulator(t, "azure")
	e.stopSignal = syscall.SIGTERM
	e.command = func() *exec.Cmd {
		cmd := exec.Command(node, main, "--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(e.Port),
			"--location", filepath.Join(e.Dir, "data"), "--silent", "--skipApiVersionCheck", "--disableTelemetry", "--loose")
		cmd.Env = append(os.Environ(), "AZURITE_ACCOUNTS="+azureAccount+":"+azureKey)
		return cmd
	}
	e.ready = func(ctx context.Context) error {
		c, err := net.DialTimeout("tcp", e.addr(), time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}
	svc := fmt.Sprintf("http://127.0.0.1:%d/%s", e.Port, azureAccount)
	e.mkBucket = func(ctx context.Context, name string) error {
		cred, err := container.NewSharedKeyCredential(azureAccount, azureKey)
		if err != nil {
			return err
		}
		c, err := container.NewClientWithSharedKeyCredential(svc+"/"+name, cred, nil)
		if err != nil {
			return err
		}
		_, err = c.Create(ctx, nil)
		return err
	}
	e.url = func(bucket, path string) string {
		return fmt.Sprintf("azblob://%s/%s?protocol=http&domain=127.0.0.1:%d&localemu=true", bucket, path, e.Port)
	}
	e.start(t)
	return e
}
