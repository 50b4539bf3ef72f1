// Command kubeplane is the local Kubernetes control plane of the dev tooling: one multi-call binary holding etcd,
// kube-apiserver, kube-controller-manager and kubectl, all built from the published Kubernetes and etcd modules so
// the tests and `make run` meet a real API server (schema validation, admission, RBAC, the Job controller and the
// garbage collector) without a cluster. The first argument (or the name the binary is called by) picks the
// component; the rest are that component's own flags.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	"k8s.io/component-base/version"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

var components = map[string]func(args []string) int{
	"etcd": func(args []string) int {
		// etcd's own main parses os.Args itself; hand it the component name as argv[0].
		etcdmain.Main(append([]string{"etcd"}, args...))
		return 0
	},
	"kube-apiserver": func(args []string) int {
		cmd := apiserver.NewAPIServerCommand()
		cmd.SetArgs(args)
		return cli.Run(cmd)
	},
	"kube-controller-manager": func(args []string) int {
		cmd := controllermanager.NewControllerManagerCommand()
		cmd.SetArgs(args)
		return cli.Run(cmd)
	},
	"kubectl": func(args []string) int {
		cmd := kubectlcmd.NewDefaultKubectlCommand()
		cmd.SetArgs(args)
		if err := cli.RunNoErrOutput(cmd); err != nil {
			// kubectl prints its own errors; only the exit code is left to give.
			return 1
		}
		return 0
	},
	"version": func(args []string) int {
		fmt.Println(version.Get().GitVersion)
		return 0
	},
}

func main() {
	name := strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe")
	args := os.Args[1:]
	if _, ok := components[name]; !ok {
		if len(args) == 0 {
			usage()
			os.Exit(2)
		}
		name, args = args[0], args[1:]
	}
	run, ok := components[name]
	if !ok {
		usage()
		os.Exit(2)
	}
	os.Exit(run(args))
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: kubeplane {etcd|kube-apiserver|kube-controller-manager|kubectl|version} [flags]")
}
