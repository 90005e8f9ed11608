package httpapi

import (
	"github.com/labstack/echo/v4"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/avis-lv/gateway/api"
	"github.com/avis-lv/gateway/internal/httpx"
)

// The operations below belong to capabilities wired in through Deps; until
// one is, its operations answer 501 problem+json as the contract says.

func (s *Server) GetList(c echo.Context, id api.ListId, p api.GetListParams) error {
	if s.d.Lists == nil {
		return httpx.NotImplemented(c)
	}
	return s.d.Lists.GetList(c, id, p)
}

func (s *Server) PushListMembers(c echo.Context, id api.ListId, p api.PushListMembersParams) error {
	if s.d.Lists == nil {
		return httpx.NotImplemented(c)
	}
	return s.d.Lists.PushListMembers(c, id, p)
}

func (s *Server) UploadListFile(c echo.Context, id api.ListId, p api.UploadListFileParams) error {
	if s.d.Lists == nil {
		return httpx.NotImplemented(c)
	}
	return s.d.Lists.UploadListFile(c, id, p)
}

func (s *Server) GetUpload(c echo.Context, id api.UploadId, p api.GetUploadParams) error {
	if s.d.Lists == nil {
		return httpx.NotImplemented(c)
	}
	return s.d.Lists.GetUpload(c, id, p)
}

func (s *Server) GetUploadErrors(c echo.Context, id api.UploadId, p api.GetUploadErrorsParams) error {
	if s.d.Lists == nil {
		return httpx.NotImplemented(c)
	}
	return s.d.Lists.GetUploadErrors(c, id, p)
}

func (s *Server) PutMeans(c echo.Context, t api.MeansType, number string, p api.PutMeansParams) error {
	if s.d.Means == nil {
		return httpx.NotImplemented(c)
	}
	return s.d.Means.PutMeans(c, t, number, p)
}

func (s *Server) RevokeMeans(c echo.Context, t api.MeansType, number string, p api.RevokeMeansParams) error {
	if s.d.Means == nil {
		return httpx.NotImplemented(c)
	}
	return s.d.Means.RevokeMeans(c, t, number, p)
}

func (s *Server) CheckEligibility(c echo.Context, p api.CheckEligibilityParams) error {
	if s.d.Eligibility == nil {
		return httpx.NotImplemented(c)
	}
	return s.d.Eligibility.CheckEligibility(c, p)
}

func (s *Server) ListTransactions(c echo.Context, p api.ListTransactionsParams) error {
	if s.d.Transactions == nil {
		return httpx.NotImplemented(c)
	}
	return s.d.Transactions.ListTransactions(c, p)
}

func (s *Server) ListReportedTransactions(c echo.Context, p api.ListReportedTransactionsParams) error {
	if s.d.Transactions == nil {
		return httpx.NotImplemented(c)
	}
	return s.d.Transactions.ListReportedTransactions(c, p)
}

func (s *Server) ReportTransaction(c echo.Context, p api.ReportTransactionParams) error {
	if s.d.Transactions == nil {
		return httpx.NotImplemented(c)
	}
	return s.d.Transactions.ReportTransaction(c, p)
}

func (s *Server) ReverseTransaction(c echo.Context, id openapi_types.UUID, p api.ReverseTransactionParams) error {
	if s.d.Transactions == nil {
		return httpx.NotImplemented(c)
	}
	return s.d.Transactions.ReverseTransaction(c, id, p)
}

func (s *Server) GetReceipt(c echo.Context, id openapi_types.UUID, p api.GetReceiptParams) error {
	if s.d.Transactions == nil {
		return httpx.NotImplemented(c)
	}
	return s.d.Transactions.GetReceipt(c, id, p)
}

func (s *Server) GetSpendReport(c echo.Context, p api.GetSpendReportParams) error {
	if s.d.Transactions == nil {
		return httpx.NotImplemented(c)
	}
	return s.d.Transactions.GetSpendReport(c, p)
}
