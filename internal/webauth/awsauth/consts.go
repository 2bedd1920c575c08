package awsauth

import "time"

// PresignExpiry is how long a token from Token is valid (X-Amz-Expires).
const PresignExpiry = 5 * time.Minute

// Scheme is the Authorization scheme of a token: "AWS4-presigned <token>".
const Scheme = "AWS4-presigned"
