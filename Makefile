# Shortcuts for the scripts; each target says what it runs.
.PHONY: run demo test e2e

# Install, build (release) and run every agent and the dashboard in one process.
run:
	scripts/run.sh $(ARGS)

# The guided demo: sick containers healed in dry-run, then live. Ctrl-C cleans up.
demo:
	scripts/demo.sh $(ARGS)

# Every test against a private Redis and Docker engine.
test:
	scripts/test.sh $(ARGS)

# The end-to-end tests only (the built binary, real Redis and Docker, a local Slack receiver).
e2e:
	scripts/test.sh --filter HemoStatE2ETests $(ARGS)
