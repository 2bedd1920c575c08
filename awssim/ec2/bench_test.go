package ec2_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

// BenchmarkDescribeInstances10k is one full paginated DescribeInstances of a
// 10,000-instance fleet (MaxResults 1000) through the SDK paginator.
func BenchmarkDescribeInstances10k(b *testing.B) {
	e := simtest.New(b, awssim.Options{CallLogLimit: 1000}, awssim.GenerateFleet(10000, 20, 4, 1))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		p := ec2.NewDescribeInstancesPaginator(e.EC2, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(1000)})
		n := 0
		for p.HasMorePages() {
			out, err := p.NextPage(e.Ctx)
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range out.Reservations {
				n += len(r.Instances)
			}
		}
		if n != 10000 {
			b.Fatalf("described %d instances", n)
		}
	}
}
