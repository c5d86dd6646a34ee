# Sourced by the example builds that need npm tools: installs the project's
# pinned npm packages into bin/npm, all in one `npm install`. Installing
# them one script at a time lets npm drop a shared dependency
# (@bytecodealliance/preview2-shim went missing when componentize-js was
# added beside jco), so every script asks for the whole set.
#
# Needs ROOT and log(); sets NPM_DIR and jco.

JCO_VERSION=1.35.0
COMPONENTIZE_JS_VERSION=0.23.0
NPM_DIR=$ROOT/bin/npm
jco=$NPM_DIR/node_modules/.bin/jco

for tool in node npm; do
	command -v "$tool" >/dev/null || { log "$tool is missing: install Node.js (20 or later) and npm"; exit 1; }
done

npm_installed() { node -p "require('$NPM_DIR/node_modules/$1/package.json').version" 2>/dev/null || true; }

if [[ $(npm_installed @bytecodealliance/jco) != "$JCO_VERSION" ||
	$(npm_installed @bytecodealliance/componentize-js) != "$COMPONENTIZE_JS_VERSION" ||
	$(npm_installed @bytecodealliance/preview2-shim) == "" ]]; then
	log "installing @bytecodealliance/jco@$JCO_VERSION and @bytecodealliance/componentize-js@$COMPONENTIZE_JS_VERSION into $NPM_DIR"
	rm -rf "$NPM_DIR"
	mkdir -p "$NPM_DIR"
	npm install --prefix "$NPM_DIR" --save-exact --no-audit --no-fund --loglevel=error \
		"@bytecodealliance/jco@$JCO_VERSION" \
		"@bytecodealliance/componentize-js@$COMPONENTIZE_JS_VERSION" </dev/null >&2
fi
