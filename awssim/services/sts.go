package services

import (
	"net/http"
	"strings"

	"github.com/driftd/driftd/awssim/wire"
)

type stsService struct{ svc *Services }

func (st *stsService) serve(w http.ResponseWriter, req *wire.Request) {
	if req.Op != "GetCallerIdentity" {
		wire.WriteError(w, req, wire.Errorf(400, "InvalidAction", "The action %s is not valid for this endpoint.", req.Op))
		return
	}
	o := st.svc.opts
	userID := "AIDADRIFTDSIMULATOR"
	if i := strings.Index(o.CallerARN, ":assumed-role/"); i >= 0 {
		parts := strings.Split(o.CallerARN[i+len(":assumed-role/"):], "/")
		userID = "AROADRIFTDSIMULATOR:" + parts[len(parts)-1]
	}
	wire.WriteQuery(w, req, []byte("<Arn>"+wire.Esc(o.CallerARN)+"</Arn><UserId>"+wire.Esc(userID)+"</UserId><Account>"+wire.Esc(o.AccountID)+"</Account>"))
}
