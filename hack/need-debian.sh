# Sourced by the example build scripts. need PACKAGES... installs the
# Debian packages that are not installed yet; the caller defines log.
need() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	((${#missing[@]} == 0)) && return 0
	[[ $(id -u) == 0 ]] || { log "missing Debian packages: ${missing[*]} (run as root to install them)"; exit 1; }
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-cache show "${missing[@]}" >/dev/null 2>&1 || apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null >/dev/null
}
