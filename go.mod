module github.com/treatywatch/treatywatch

go 1.26.8

require (
	github.com/mattn/go-sqlite3 v1.14.53
	gopkg.in/yaml.v3 v3.0.1
)
