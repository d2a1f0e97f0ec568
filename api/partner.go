package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// partnerCallback is replaced by the partner issue's implementation.
func (s *Server) partnerCallback(c *gin.Context) {
	c.JSON(http.StatusNotImplemented, gin.H{"status": "1", "statusDesc": "not implemented"})
}
