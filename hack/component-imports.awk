# jco print COMPONENT.wasm | awk -f hack/component-imports.awk
# Lists each instance a component imports, one a line, with what its type
# requires of the host: the resources (`resource NAME`) and the functions,
# in the component's order. Reads the top-level type and import
# declarations of `jco print` (wasm-tools print) output only.
/^  \(core module/ { done = 1 }
done { next }
/^  \(type \$ty-/ { intype = 1; n = 0; split("", items); next }
intype && /^      \(export .*\(type \(sub resource\)\)/ {
	match($0, /"[^"]+"/); items[n++] = "resource " substr($0, RSTART + 1, RLENGTH - 2)
}
intype && /^      \(export .*\(func / { match($0, /"[^"]+"/); items[n++] = substr($0, RSTART + 1, RLENGTH - 2) }
/^  \(import "/ {
	match($0, /"[^"]+"/)
	printf "%s:", substr($0, RSTART + 1, RLENGTH - 2)
	for (i = 0; i < n; i++) printf " %s%s", items[i], (i < n - 1 ? "," : "")
	printf "\n"
	intype = 0; n = 0
}
