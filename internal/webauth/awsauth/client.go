package awsauth

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// HeaderServerID is the header the client signs and the server sets to its
// own http.auth.aws.server_id when it forwards the request: a request
// presigned for another server fails STS's signature check here.
const HeaderServerID = "X-Driftd-Server-Id"

// Token presigns sts:GetCallerIdentity with cfg's credentials and region
// (the SDK's default chain when cfg comes from config.LoadDefaultConfig),
// signing HeaderServerID = serverID, and returns the credential to send as
// "Authorization: AWS4-presigned <token>". It is valid for PresignExpiry.
func Token(ctx context.Context, cfg aws.Config, serverID string, optFns ...func(*sts.Options)) (string, error) {
	pc := sts.NewPresignClient(sts.NewFromConfig(cfg, optFns...))
	req, err := pc.PresignGetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(o *sts.PresignOptions) {
		o.ClientOptions = append(o.ClientOptions, sts.WithAPIOptions(func(st *middleware.Stack) error {
			if err := smithyhttp.AddHeaderValue(HeaderServerID, serverID)(st); err != nil {
				return err
			}
			return st.Build.Add(middleware.BuildMiddlewareFunc("driftdPresignExpiry",
				func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
					if r, ok := in.Request.(*smithyhttp.Request); ok {
						q := r.URL.Query()
						q.Set("X-Amz-Expires", fmt.Sprint(int(PresignExpiry.Seconds())))
						r.URL.RawQuery = q.Encode()
					}
					return next.HandleBuild(ctx, in)
				}), middleware.After)
		}))
	})
	if err != nil {
		return "", fmt.Errorf("presigning sts:GetCallerIdentity: %w", err)
	}
	if req.Method != http.MethodGet {
		return "", fmt.Errorf("presigned sts:GetCallerIdentity is a %s, want GET", req.Method)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(req.URL)), nil
}
