package main

// The fixed vocabulary the generator draws from: the FOCUS 1.2 header, the
// services, regions, accounts and tag keys of a plausible AWS organisation.

// header is the header of testdata/focus/focus-1.2/aws_focus-1.2_costandusage_100rows.csv,
// in its order (57 columns).
var header = []string{
	"ProviderName", "PublisherName", "InvoiceIssuerName", "InvoiceId",
	"BillingAccountId", "BillingAccountName", "BillingAccountType",
	"SubAccountId", "SubAccountName", "SubAccountType",
	"BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd",
	"ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency",
	"BilledCost", "EffectiveCost", "ListCost", "ContractedCost",
	"ListUnitPrice", "ContractedUnitPrice", "PricingCategory", "PricingQuantity",
	"PricingUnit", "PricingCurrency", "PricingCurrencyContractedUnitPrice",
	"PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice", "BillingCurrency",
	"ConsumedQuantity", "ConsumedUnit", "ServiceName", "ServiceCategory",
	"ServiceSubcategory", "SkuId", "SkuMeter", "SkuPriceId", "SkuPriceDetails",
	"ResourceId", "ResourceName", "ResourceType", "RegionId", "RegionName",
	"AvailabilityZone", "CommitmentDiscountId", "CommitmentDiscountName",
	"CommitmentDiscountCategory", "CommitmentDiscountType", "CommitmentDiscountStatus",
	"CommitmentDiscountQuantity", "CommitmentDiscountUnit",
	"CapacityReservationId", "CapacityReservationStatus", "Tags",
}

// service describes one kind of billed resource.
type service struct {
	name, category, subcategory string
	resourceType                string
	arn                         string // fmt pattern: region, account, id
	idPrefix                    string // resource name prefix
	meter, unit                 string
	priceLo, priceHi            float64 // list unit price range
	qtyLo, qtyHi                float64 // hourly quantity range
	qtyDigits                   int     // fractional digits of quantities
	desc                        string  // fmt pattern: unit price, detail
	details                     []string
	committable                 bool // may be covered by a commitment discount
	zonal                       bool // has an availability zone
	weight                      int
}

var services = []service{
	{
		name: "AmazonEC2", category: "Compute", subcategory: "Virtual Machines",
		resourceType: "EC2 Instance", arn: "arn:aws:ec2:%s:%s:instance/%s", idPrefix: "i-",
		meter: "Compute", unit: "Hours", priceLo: 0.0104, priceHi: 3.5, qtyLo: 1, qtyHi: 1, qtyDigits: 4,
		desc: "$%s per On Demand %s Instance Hour",
		details: []string{
			`{"InstanceType":"m6i.large","InstanceSeries":"M6i","CoreCount":2,"MemorySize":8,"OperatingSystem":"Linux"}`,
			`{"InstanceType":"c7g.xlarge","InstanceSeries":"C7g","CoreCount":4,"MemorySize":8,"OperatingSystem":"Linux"}`,
			`{"InstanceType":"r6i.2xlarge","InstanceSeries":"R6i","CoreCount":8,"MemorySize":64,"x_Tenancy":"Dedicated"}`,
			`{"InstanceType":"t3.micro","InstanceSeries":"T3","CoreCount":2,"MemorySize":1,"OperatingSystem":"Linux"}`,
		},
		committable: true, zonal: true, weight: 30,
	},
	{
		name: "AmazonEC2", category: "Storage", subcategory: "Block Storage",
		resourceType: "EBS Volume", arn: "arn:aws:ec2:%s:%s:volume/%s", idPrefix: "vol-",
		meter: "Storage", unit: "GB-Months", priceLo: 0.08, priceHi: 0.125, qtyLo: 0.01, qtyHi: 3, qtyDigits: 10,
		desc: "$%s per GB-month of %s provisioned storage",
		details: []string{
			`{"VolumeType":"gp3","StorageMedia":"SSD"}`,
			`{"VolumeType":"io2","StorageMedia":"SSD"}`,
			`{"VolumeType":"st1","StorageMedia":"HDD"}`,
		},
		zonal: true, weight: 20,
	},
	{
		name: "AmazonS3", category: "Storage", subcategory: "Object Storage",
		resourceType: "S3 Bucket", arn: "arn:aws:s3:::%[3]s", idPrefix: "bucket-",
		meter: "Storage", unit: "GB-Months", priceLo: 0.0125, priceHi: 0.023, qtyLo: 0.0001, qtyHi: 80, qtyDigits: 12,
		desc: "$%s per GB - first 50 TB, %s",
		details: []string{
			`{"StorageClass":"Standard","Redundancy":"Multi-AZ"}`,
			`{"StorageClass":"Intelligent-Tiering","Redundancy":"Multi-AZ"}`,
			`{"StorageClass":"Glacier Instant Retrieval","Redundancy":"Multi-AZ"}`,
		},
		weight: 10,
	},
	{
		name: "AmazonDynamoDB", category: "Databases", subcategory: "NoSQL Databases",
		resourceType: "DynamoDB Table", arn: "arn:aws:dynamodb:%s:%s:table/%s", idPrefix: "table-",
		meter: "Database", unit: "Requests", priceLo: 0.00000025, priceHi: 0.00000125, qtyLo: 1000, qtyHi: 6000000, qtyDigits: 0,
		desc:    "$%s per WriteRequestUnit (%s)",
		details: []string{`{"x_CapacityMode":"On-Demand"}`, `{"x_CapacityMode":"Provisioned","x_TableClass":"Standard"}`},
		weight:  8,
	},
	{
		name: "AWSLambda", category: "Compute", subcategory: "Serverless Compute",
		resourceType: "Lambda Function", arn: "arn:aws:lambda:%s:%s:function:%s", idPrefix: "fn-",
		meter: "Compute", unit: "Lambda-GB-Second", priceLo: 0.0000133334, priceHi: 0.0000166667, qtyLo: 0.5, qtyHi: 900000, qtyDigits: 3,
		desc:    "$%s per Lambda GB-second, %s",
		details: []string{`{"Architecture":"arm64"}`, `{"Architecture":"x86_64"}`},
		weight:  10,
	},
	{
		name: "AmazonRDS", category: "Databases", subcategory: "Relational Databases",
		resourceType: "DB Instance", arn: "arn:aws:rds:%s:%s:db:%s", idPrefix: "db-",
		meter: "Database", unit: "Hours", priceLo: 0.017, priceHi: 4.2, qtyLo: 1, qtyHi: 1, qtyDigits: 4,
		desc: "$%s per RDS %s instance hour (or partial hour)",
		details: []string{
			`{"InstanceType":"db.r6g.large","InstanceSeries":"R6g","CoreCount":2,"MemorySize":16,"x_Engine":"PostgreSQL"}`,
			`{"InstanceType":"db.m6g.xlarge","InstanceSeries":"M6g","CoreCount":4,"MemorySize":16,"x_Engine":"MySQL"}`,
		},
		committable: true, zonal: true, weight: 7,
	},
	{
		name: "AmazonCloudWatch", category: "Management and Governance", subcategory: "Observability",
		resourceType: "Log Group", arn: "arn:aws:logs:%s:%s:log-group:/aws/lambda/%s", idPrefix: "lg-",
		meter: "Logs", unit: "GB", priceLo: 0.5, priceHi: 0.76, qtyLo: 0.00001, qtyHi: 25, qtyDigits: 9,
		desc:    "$%s per GB log data ingested, %s",
		details: []string{`{"LogClass":"Standard"}`, `{"LogClass":"Infrequent Access"}`},
		weight:  6,
	},
	{
		name: "AmazonVPC", category: "Networking", subcategory: "Network Connectivity",
		resourceType: "NAT Gateway", arn: "arn:aws:ec2:%s:%s:natgateway/%s", idPrefix: "nat-",
		meter: "Data Transfer", unit: "GB", priceLo: 0.045, priceHi: 0.062, qtyLo: 0.001, qtyHi: 5000, qtyDigits: 8,
		desc:    "$%s per GB processed by NAT Gateway (%s)",
		details: []string{`{"x_Direction":"Outbound"}`, `{"x_Direction":"Inbound","x_Scope":"Inter-AZ"}`},
		zonal:   true, weight: 4,
	},
	{
		name: "AWSGlue", category: "Analytics", subcategory: "Data Processing",
		resourceType: "Glue Job", arn: "arn:aws:glue:%s:%s:job/%s", idPrefix: "job-",
		meter: "Data Processing", unit: "DPU-Hours", priceLo: 0.29, priceHi: 0.44, qtyLo: 0.01, qtyHi: 40, qtyDigits: 6,
		desc:    "$%s per DPU-Hour for Glue ETL job, %s",
		details: []string{`{"x_WorkerType":"G.1X"}`, `{"x_WorkerType":"G.2X"}`},
		weight:  3,
	},
	{
		name: "AmazonEKS", category: "Compute", subcategory: "Containers",
		resourceType: "EKS Cluster", arn: "arn:aws:eks:%s:%s:cluster/%s", idPrefix: "eks-",
		meter: "Compute", unit: "Hours", priceLo: 0.1, priceHi: 0.6, qtyLo: 1, qtyHi: 1, qtyDigits: 4,
		desc:    "$%s per hour per EKS cluster (%s)",
		details: []string{`{"x_SupportTier":"Standard"}`, `{"x_SupportTier":"Extended"}`},
		weight:  2,
	},
}

type region struct{ id, name string }

var regions = []region{
	{"us-east-1", "US East (N. Virginia)"},
	{"us-east-2", "US East (Ohio)"},
	{"us-west-2", "US West (Oregon)"},
	{"eu-west-1", "EU (Ireland)"},
	{"eu-central-1", "EU (Frankfurt)"},
	{"ap-southeast-1", "Asia Pacific (Singapore)"},
	{"ap-northeast-1", "Asia Pacific (Tokyo)"},
	{"sa-east-1", "South America (Sao Paulo)"},
}

var payers = []struct{ id, name string }{
	{"100000000001", "ExampleCorp Payer"},
	{"100000000002", "ExampleCorp Payer 2"},
	{"100000000003", "ExampleCorp, EMEA Payer"},
}

var (
	teams = []string{"platform", "data", "payments", "web", "ml", "security", "search", "mobile"}
	envs  = []string{"prod", "staging", "dev", "sandbox"}
)

// tagKeys are the keys a resource's Tags may carry; value makes a JSON value.
var tagKeys = []string{
	"Environment", "CostCenter", "Owner", "Application", "Project", "Name",
	"aws:createdBy", "kubernetes.io/cluster/eks-prod", "Replicas", "Backup",
	"Tier", "Ratio", "Team Name", "Department",
}
