// pulumi-stackfile loads a project and a stack file with the Pulumi CLI's own
// loader (sdk/v3 go/common/workspace, at the version of the pinned Python
// SDK) and prints the stack's config as JSON, or the loader's error with exit
// code 1. The end-to-end tier uses it to check that the project's own stack
// file reader refuses what the CLI refuses, since the CLI itself cannot be
// built here.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: pulumi-stackfile Pulumi.yaml Pulumi.<stack>.yaml")
		os.Exit(2)
	}
	project, err := workspace.LoadProject(os.Args[1])
	if err != nil {
		fmt.Println(err.Error())
		os.Exit(1)
	}
	stack, err := workspace.LoadProjectStack(nil, project, os.Args[2])
	if err != nil {
		fmt.Println(err.Error())
		os.Exit(1)
	}
	keys := map[string]bool{}
	for k, v := range stack.Config {
		keys[k.String()] = v.Secure()
	}
	out, _ := json.Marshal(map[string]any{"config": keys})
	fmt.Println(string(out))
}
