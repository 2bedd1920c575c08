// Package sts serves the simulated region's STS GetCallerIdentity
// (awsQuery protocol).
package sts

import (
	"net/http"
	"strings"

	"github.com/driftd/driftd/awssim/wire"
)

// Service answers GetCallerIdentity for one caller.
type Service struct {
	accountID, callerARN string
}

// New returns the STS of account accountID whose caller is callerARN.
func New(accountID, callerARN string) *Service {
	return &Service{accountID: accountID, callerARN: callerARN}
}

// ServeAWS implements wire.Handler.
func (st *Service) ServeAWS(w http.ResponseWriter, req *wire.Request) {
	if req.Op != "GetCallerIdentity" {
		wire.WriteError(w, req, wire.Errorf(400, "InvalidAction", "The action %s is not valid for this endpoint.", req.Op))
		return
	}
	userID := "AIDADRIFTDSIMULATOR"
	if i := strings.Index(st.callerARN, ":assumed-role/"); i >= 0 {
		parts := strings.Split(st.callerARN[i+len(":assumed-role/"):], "/")
		userID = "AROADRIFTDSIMULATOR:" + parts[len(parts)-1]
	}
	wire.WriteQuery(w, req, []byte("<Arn>"+wire.Esc(st.callerARN)+"</Arn><UserId>"+wire.Esc(userID)+"</UserId><Account>"+wire.Esc(st.accountID)+"</Account>"))
}
