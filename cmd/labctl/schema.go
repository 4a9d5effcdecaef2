package main

import (
	"github.com/spf13/cobra"

	"github.com/labctl/labctl/topo"
)

func newSchemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of lab files (for editors)",
		Long: `Print the JSON Schema of lab files. Editors with the YAML language server complete
and check lab files that start with:

  # yaml-language-server: $schema=https://raw.githubusercontent.com/labctl/labctl/main/docs/lab.schema.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(topo.Schema())
			return err
		},
	}
}
