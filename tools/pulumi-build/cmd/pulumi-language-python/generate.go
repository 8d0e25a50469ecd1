package main

// GenerateProgram: Python source from a PCL program. `pulumi import` uses it to print the code a
// user pastes into the program (the resources' schema comes from their provider through the
// engine's schema loader, e.g. this project's provider server for pulumi-python:dynamic/...).

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/pulumi/pulumi/pkg/v3/codegen/hcl2/syntax"
	"github.com/pulumi/pulumi/pkg/v3/codegen/pcl"
	"github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func (h *host) GenerateProgram(
	_ context.Context, req *pulumirpc.GenerateProgramRequest,
) (*pulumirpc.GenerateProgramResponse, error) {
	loader, err := schema.NewLoaderClient(req.LoaderTarget)
	if err != nil {
		return nil, fmt.Errorf("connecting to the schema loader: %w", err)
	}
	defer loader.Close()

	names := make([]string, 0, len(req.Source))
	for name := range req.Source {
		names = append(names, name)
	}
	sort.Strings(names)
	parser := syntax.NewParser()
	for _, name := range names {
		if err := parser.ParseFile(strings.NewReader(req.Source[name]), name); err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
	}
	diags := hcl.Diagnostics(parser.Diagnostics)
	if diags.HasErrors() {
		return &pulumirpc.GenerateProgramResponse{Diagnostics: plugin.HclDiagnosticsToRPCDiagnostics(diags)}, nil
	}

	var options []pcl.BindOption
	if !req.Strict {
		options = append(options, pcl.NonStrictBindOptions()...)
	}
	program, bindDiags, err := pcl.BindProgram(parser.Files, loader, options...)
	if err != nil {
		return nil, fmt.Errorf("binding the program: %w", err)
	}
	diags = append(diags, bindDiags...)
	if bindDiags.HasErrors() {
		return &pulumirpc.GenerateProgramResponse{Diagnostics: plugin.HclDiagnosticsToRPCDiagnostics(diags)}, nil
	}

	files, genDiags, err := python.GenerateProgram(program)
	if err != nil {
		return nil, fmt.Errorf("generating Python: %w", err)
	}
	diags = append(diags, genDiags...)
	return &pulumirpc.GenerateProgramResponse{
		Source:      files,
		Diagnostics: plugin.HclDiagnosticsToRPCDiagnostics(diags),
	}, nil
}
