module github.com/treatywatch/treatywatch

go 1.26.8

require (
	github.com/mattn/go-sqlite3 v1.14.53
	github.com/slack-go/slack v0.35.0
	gopkg.in/yaml.v3 v3.0.1
)

require github.com/gorilla/websocket v1.5.3 // indirect
