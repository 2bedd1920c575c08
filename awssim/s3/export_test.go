package s3

// EncodeToken exposes the ListObjectsV2 continuation token encoding to the
// benchmarks of package s3_test.
var EncodeToken = encodeToken
