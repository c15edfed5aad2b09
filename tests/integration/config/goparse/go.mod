module redisplatform/goparse

go 1.22

require github.com/robfig/cron/v3 v3.0.1

require k8s.io/utils v0.0.0-20230726121419-3b25d923346b
