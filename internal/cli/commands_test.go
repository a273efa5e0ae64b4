package cli

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/config"
)

// TestServiceBuildersAreTheKnownServices holds the configuration's list of service names to
// the services this binary can mount: a name is accepted (and reported by `status`) only
// once its service exists.
func TestServiceBuildersAreTheKnownServices(t *testing.T) {
	t.Parallel()
	var built []string
	for _, b := range serviceBuilders() {
		built = append(built, b.name)
	}
	require.ElementsMatch(t, config.KnownServices(), built)
}

// documentedCommand finds `goforward <words>` in the docs' code: fenced blocks and inline
// code spans. The words stop at the first flag, comment or other non-word.
var documentedCommand = regexp.MustCompile("(?:^|[\\s`(])goforward((?: [a-z][a-z-]*)+)")

// notCommands start code spans that begin with "goforward " but name no command.
var notCommands = map[string]string{
	"goforward realtime reader": "the application_name of realtime's replication reader (docs/realtime.md)",
}

func isCommand(line string) bool {
	for prefix := range notCommands {
		if strings.HasPrefix(line, prefix) {
			return false
		}
	}
	return true
}

// TestDocumentedCommandsExist runs every `goforward ...` command line the README and docs/
// show through the command tree, so the docs cannot promise a command the binary lacks.
func TestDocumentedCommandsExist(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../docs/*.md")
	require.NoError(t, err)
	files = append(files, "../../README.md")
	root := NewRootCmd(io.Discard, io.Discard)
	seen := 0
	for _, file := range files {
		text, err := os.ReadFile(file)
		require.NoError(t, err)
		for _, code := range codeOf(string(text)) {
			for _, m := range documentedCommand.FindAllStringSubmatch(code, -1) {
				words := strings.Fields(m[1])
				line := "goforward " + strings.Join(words, " ")
				if !isCommand(line) {
					continue
				}
				cmd, _, err := root.Find(words)
				require.NoError(t, err, "%s: %q", file, line)
				require.Equal(t, line, cmd.CommandPath(), "%s documents %q, which is not a goforward command", file, line)
				seen++
			}
		}
	}
	require.Greater(t, seen, 10, "the docs show commands; the pattern must find them")
}

// codeOf returns the fenced code blocks and inline code spans of a Markdown text.
func codeOf(markdown string) []string {
	var code []string
	inFence := false
	for line := range strings.SplitSeq(markdown, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			code = append(code, line)
			continue
		}
		parts := strings.Split(line, "`")
		for i := 1; i < len(parts); i += 2 {
			code = append(code, parts[i])
		}
	}
	return code
}

// TestConfigCheckIsEnvCheck: `config check`, which the README shows, is the same command as
// `env check`.
func TestConfigCheckIsEnvCheck(t *testing.T) {
	t.Parallel()
	root := NewRootCmd(io.Discard, io.Discard)
	configCheck, _, err := root.Find([]string{"config", "check"})
	require.NoError(t, err)
	envCheck, _, err := root.Find([]string{"env", "check"})
	require.NoError(t, err)
	require.Equal(t, "goforward config check", configCheck.CommandPath())
	require.Equal(t, envCheck.Short, configCheck.Short)
}
