# Shared by ./jseek and ./build: find a JDK 25+ and Maven, and build the project when it is stale.
# Sourced, not run. Nothing here needs to be set by hand; JAVA_HOME is honoured when it is 25 or newer.

JSEEK_ROOT="${JSEEK_ROOT:?}"

# Prints the feature version (e.g. 25) of the JDK at $1, or nothing.
jseek_jdk_version() {
    local home="$1" v=""
    [ -x "$home/bin/java" ] && [ -x "$home/bin/javac" ] || return 0
    if [ -f "$home/release" ]; then
        v="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release")"
    fi
    if [ -z "$v" ]; then
        v="$("$home/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')"
    fi
    echo "$v"
}

# Sets JAVA_HOME to a JDK 25 or newer: $JAVA_HOME if it qualifies, else the newest under /usr/lib/jvm
# (or /Library/Java/JavaVirtualMachines/*/Contents/Home on macOS), else the one `javac` on PATH belongs to.
jseek_find_jdk() {
    local candidates=() c v best="" bestv=0 seen=""
    [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
    for c in /usr/lib/jvm/* /Library/Java/JavaVirtualMachines/*/Contents/Home; do
        [ -d "$c" ] && candidates+=("$c")
    done
    if command -v javac >/dev/null 2>&1; then
        candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")")
    fi
    for c in "${candidates[@]}"; do
        v="$(jseek_jdk_version "$c")"
        [ -n "$v" ] || continue
        seen="$seen  $c (Java $v)"$'\n'
        if [ "$c" = "${JAVA_HOME:-}" ] && [ "$v" -ge 25 ]; then
            best="$c"; bestv="$v"; break
        fi
        if [ "$v" -ge 25 ] && [ "$v" -gt "$bestv" ]; then
            best="$c"; bestv="$v"
        fi
    done
    if [ -z "$best" ]; then
        {
            echo "jseek needs a JDK 25 or newer (it uses the Vector and FFM APIs), and found none."
            [ -n "$seen" ] && printf 'JDKs found:\n%s' "$seen"
            echo "Install a JDK 25 (Debian/Ubuntu: apt-get install openjdk-25-jdk, or any JDK 25 distribution)"
            echo "and set JAVA_HOME to it, or put it under /usr/lib/jvm."
        } >&2
        exit 1
    fi
    export JAVA_HOME="$best"
}

# Sets MVN to a Maven 3.8+ command.
jseek_find_maven() {
    if command -v mvn >/dev/null 2>&1; then
        MVN=mvn
    else
        # No Maven installed: the Maven wrapper fetches the version pinned in .mvn/wrapper/maven-wrapper.properties
        # from Maven Central (once, into ~/.m2/wrapper; needs curl or wget, and unzip).
        echo "jseek: no mvn on the PATH; using the Maven wrapper (./mvnw)" >&2
        MVN="$JSEEK_ROOT/mvnw"
    fi
    # Maven's own libraries warn about sun.misc.Unsafe on JDK 24+; the warning is not ours.
    export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
}

# Runs Maven in the project root with the given arguments, one build at a time.
jseek_maven() {
    jseek_find_maven
    mkdir -p "$JSEEK_ROOT/target"
    (
        if command -v flock >/dev/null 2>&1; then
            exec 9>"$JSEEK_ROOT/target/.build-lock"
            flock 9
        fi
        cd "$JSEEK_ROOT" && "$MVN" -B -ntp "$@"
    )
}

JSEEK_JAR="$JSEEK_ROOT/jseek-cli/target/jseek-cli.jar"

# Builds the CLI if it was never built or a source, pom or the embedded model changed since.
jseek_build_if_stale() {
    local changed=""
    if [ -f "$JSEEK_JAR" ]; then
        changed="$(cd "$JSEEK_ROOT" && find pom.xml */pom.xml */src models -newer "$JSEEK_JAR" -print -quit 2>/dev/null)"
        [ -z "$changed" ] && return 0
    fi
    mkdir -p "$JSEEK_ROOT/target"
    echo "jseek: building (first run or sources changed; about a minute)..." >&2
    # The launcher's class path is lib/*: a jar left from an older dependency version would shadow the new one.
    rm -rf "$JSEEK_ROOT/jseek-cli/target/lib"
    if ! jseek_maven -q package -Dmaven.test.skip=true >"$JSEEK_ROOT/target/build.log" 2>&1; then
        cat "$JSEEK_ROOT/target/build.log" >&2
        echo "jseek: the build failed (log above, also in target/build.log)" >&2
        exit 1
    fi
    touch "$JSEEK_JAR"
}
