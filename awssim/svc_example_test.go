package awssim_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/driftd/driftd/awssim"
	sims3 "github.com/driftd/driftd/awssim/s3"
)

// Example_resourceDataSync exposes one Resource Data Sync object per
// instance of a (tiny) fleet, rendered on demand, and reads it with the SDK.
func Example_resourceDataSync() {
	sim := awssim.New(awssim.Options{})

	const prefix = "AWS:Application/accountid=123456789012/region=us-east-1/resourcetype=ManagedInstanceInventory/"
	inventory := map[string][]string{ // instance -> installed packages
		"i-0aaa": {"bash", "openssl"},
		"i-0bbb": {"bash", "curl", "openssl"},
	}
	captured := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	version := func(id string) sims3.VersionedKey {
		// A real simulator uses the inventory's capture time and hash.
		return sims3.VersionedKey{Key: prefix + id + ".json", Version: strings.Join(inventory[id], ","), LastModified: captured}
	}
	idOf := func(key string) string { return strings.TrimSuffix(strings.TrimPrefix(key, prefix), ".json") }
	sim.S3().SetObjectSource("inventory-sync", prefix, sims3.NewRenderedSource(
		func(p, after string, limit int) ([]sims3.VersionedKey, error) {
			var ids []string
			for id := range inventory {
				if k := prefix + id + ".json"; strings.HasPrefix(k, p) && k > after {
					ids = append(ids, id)
				}
			}
			sort.Strings(ids)
			var out []sims3.VersionedKey
			for _, id := range ids {
				if len(out) < limit {
					out = append(out, version(id))
				}
			}
			return out, nil
		},
		func(key string) (sims3.VersionedKey, bool, error) {
			_, ok := inventory[idOf(key)]
			return version(idOf(key)), ok, nil
		},
		func(key string) ([]byte, sims3.VersionedKey, bool, error) {
			id := idOf(key)
			pkgs, ok := inventory[id]
			var b strings.Builder
			for _, p := range pkgs {
				fmt.Fprintf(&b, `{"name":%q,"resourceId":%q}`+"\n", p, id)
			}
			return []byte(b.String()), version(id), ok, nil
		},
		"application/json",
	))

	srv := httptest.NewServer(sim)
	defer srv.Close()

	ctx := context.Background()
	cfg, _ := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")))
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(srv.URL) })

	list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("inventory-sync"), Prefix: aws.String("AWS:Application/")})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, o := range list.Contents {
		fmt.Println(strings.TrimPrefix(aws.ToString(o.Key), prefix), aws.ToInt64(o.Size))
	}
	obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("inventory-sync"), Key: aws.String(prefix + "i-0bbb.json")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer obj.Body.Close()
	body, _ := io.ReadAll(obj.Body)
	fmt.Print(string(body))
	// Output:
	// i-0aaa.json 79
	// i-0bbb.json 117
	// {"name":"bash","resourceId":"i-0bbb"}
	// {"name":"curl","resourceId":"i-0bbb"}
	// {"name":"openssl","resourceId":"i-0bbb"}
}
