# Sourced by ./kindling and ./build: sets KINDLING_JAVA_HOME to a JDK 25 or newer, or exits with one clear line.
# Looks at JAVA_HOME first, then the usual install folders.
kindling_java_version() { # prints the feature version of the JDK at $1, or nothing
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 0
  "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p' | head -1
}
kindling_find_jdk() {
  local candidates=() c v
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  for c in /usr/lib/jvm/* /opt/java/* /opt/jdk* /usr/local/lib/jvm/* "$HOME"/.sdkman/candidates/java/* "$HOME"/.jdks/*; do
    [ -d "$c" ] && candidates+=("$c")
  done
  if command -v javac >/dev/null 2>&1; then candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")"); fi
  for c in "${candidates[@]}"; do
    v=$(kindling_java_version "$c")
    if [ -n "$v" ] && [ "$v" -ge 25 ]; then KINDLING_JAVA_HOME="$c"; return 0; fi
  done
  echo "kindling: needs a JDK 25 or newer (with javac); found none in JAVA_HOME or the usual folders. Install one (e.g. Temurin 25) and set JAVA_HOME to it." >&2
  exit 1
}
kindling_find_jdk
