package api

import "github.com/gin-gonic/gin"

func (s *Server) demoRoutes(r *gin.Engine) {}
