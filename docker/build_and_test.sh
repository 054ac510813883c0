#!/usr/bin/env bash
# Build docker/Dockerfile and test the image for real: the main job (`axsim run sgemm`, baseline
# and SPARCE, exit 0) and a torch-free part of the tests, run inside the container. Prints PASS or
# FAIL on the last line and exits 0 / 1.
#
#   docker/build_and_test.sh                  # BASE from the environment, else debian:bookworm-slim (pulled)
#   docker/build_and_test.sh --local-base     # make the base with debootstrap (no registry pull needed)
#   BASE=my/bookworm:tag docker/build_and_test.sh
#
# Options:
#   --local-base   build axsim-base:bookworm with `debootstrap --variant=minbase bookworm` (as root,
#                  debootstrap installed; reuses the image if it exists) and use it as BASE
#   --worktree     build from the working tree (tracked and untracked files that git does not ignore)
#                  instead of the committed HEAD (the default: what a fresh clone would build)
#   --tag TAG      image tag (default axsim:test)
#   --host-ca      trust the host's locally added CA certificates in the build (apt, pip): the
#                  .crt files in /usr/local/share/ca-certificates, passed as --build-arg
#                  EXTRA_CA_CERTS; for a network whose TLS goes through an intercepting proxy
#                  (pip then fails with CERTIFICATE_VERIFY_FAILED without it). CA_CERTS=FILE: a
#                  PEM file of your own instead
#   --no-tests     build and run the main job only
# Environment: BASE, IMAGE (= --tag), TESTS (pytest arguments run in the container),
#   DEBOOTSTRAP_MIRROR (a Debian mirror for --local-base; debootstrap's default if unset),
#   DOCKER_NETWORK (default host: builds and runs use the host's network, so a dockerd started
#   with --iptables=false, which gives bridged containers no way out, still reaches apt and pip),
#   LOGDIR (default out/docker: build log, main job and test output).
# CPU-heavy steps run under `nice -n 19` (NICE= to turn that off); the work inside the build and the
# containers is done by dockerd's processes, so start dockerd itself under nice on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."

LOCAL_BASE=0 WORKTREE=0 RUN_TESTS=1 HOST_CA=0
IMAGE="${IMAGE:-axsim:test}"
while [ $# -gt 0 ]; do
    case "$1" in
        --local-base) LOCAL_BASE=1 ;;
        --worktree) WORKTREE=1 ;;
        --tag) IMAGE="$2"; shift ;;
        --no-tests) RUN_TESTS=0 ;;
        --host-ca) HOST_CA=1 ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "build_and_test.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
NICE=${NICE-nice -n 19}
NET="${DOCKER_NETWORK:-host}"
LOCAL_BASE_IMAGE=axsim-base:bookworm
# the chapter-4 tests (engine, compiler, kernels, jobs, gem5 backend without gem5): none needs torch.
# Left out: test_openblas_build (builds OpenBLAS from `apt-get source openblas`: long) and the
# chapters 5-8 tests (torch).
TESTS="${TESTS:-tests/test_engine_kernels.py tests/test_engine_timing.py tests/test_sparce_kernels.py \
tests/test_sparce_psru.py tests/test_native_identity.py tests/test_bad_input.py tests/test_isa_ext.py \
tests/test_syscalls.py tests/test_stats_parser.py tests/test_sweep.py tests/test_network.py \
tests/test_sasa_compiler_analysis.py tests/test_sasa_compiler_frontend.py \
tests/test_sasa_compiler_openblas.py tests/test_sasa_compiler_redundancy.py \
tests/test_sasa_compiler_table.py tests/test_gem5_backend.py tests/test_gem5_reference.py}"
LOGDIR="${LOGDIR:-out/docker}"
mkdir -p "$LOGDIR"

docker info >/dev/null 2>&1 || { echo "build_and_test.sh: no Docker daemon answers (start dockerd first)" >&2; exit 2; }

if [ "$LOCAL_BASE" = 1 ]; then
    BASE="$LOCAL_BASE_IMAGE"
    if docker image inspect "$BASE" >/dev/null 2>&1; then
        echo "== base: $BASE (exists)"
    else
        command -v debootstrap >/dev/null || { echo "build_and_test.sh: --local-base needs debootstrap (apt-get install debootstrap)" >&2; exit 2; }
        [ "$(id -u)" = 0 ] || { echo "build_and_test.sh: --local-base needs root (debootstrap)" >&2; exit 2; }
        ROOTFS=$(mktemp -d /tmp/axsim-rootfs.XXXXXX)
        trap 'rm -rf "$ROOTFS"' EXIT
        echo "== base: debootstrap --variant=minbase bookworm -> $BASE"
        t0=$(date +%s)
        # shellcheck disable=SC2086
        $NICE debootstrap --variant=minbase bookworm "$ROOTFS" ${DEBOOTSTRAP_MIRROR:-} >"$LOGDIR/debootstrap.log" 2>&1 ||
            { tail -20 "$LOGDIR/debootstrap.log"; echo FAIL; exit 1; }
        rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
        tar -C "$ROOTFS" -c . | docker import -c 'CMD ["bash"]' - "$BASE" >/dev/null
        rm -rf "$ROOTFS"; trap - EXIT
        echo "   made in $(( $(date +%s) - t0 )) s"
    fi
fi
BASE="${BASE:-debian:bookworm-slim}"

CA_ARGS=()
if [ -n "${CA_CERTS:-}" ]; then
    CA_ARGS=(--build-arg "EXTRA_CA_CERTS=$(cat "$CA_CERTS")")
elif [ "$HOST_CA" = 1 ]; then
    shopt -s nullglob; cas=(/usr/local/share/ca-certificates/*.crt /usr/local/share/ca-certificates/*/*.crt); shopt -u nullglob
    [ ${#cas[@]} -gt 0 ] || { echo "build_and_test.sh: --host-ca: no .crt in /usr/local/share/ca-certificates" >&2; exit 2; }
    CA_ARGS=(--build-arg "EXTRA_CA_CERTS=$(cat "${cas[@]}")")
    echo "== trusting ${#cas[@]} host CA file(s) from /usr/local/share/ca-certificates in the build"
fi

# the build context: git's view of the tree (never out/, build/, *.so or .git)
if [ "$WORKTREE" = 1 ]; then
    SRC="working tree at $(git rev-parse --short HEAD) + uncommitted changes"
    context() {
        git ls-files -z -co --exclude-standard |
            while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
            tar --null -T - -cf -
    }
else
    REV=$(git rev-parse HEAD)
    SRC="commit $REV"
    context() { git archive --format=tar "$REV"; }
fi

echo "== build: $IMAGE from $SRC, BASE=$BASE, network $NET (log: $LOGDIR/build.log)"
t0=$(date +%s)
if ! context | $NICE docker build --network "$NET" --build-arg "BASE=$BASE" "${CA_ARGS[@]}" \
        -f docker/Dockerfile -t "$IMAGE" - >"$LOGDIR/build.log" 2>&1; then
    tail -30 "$LOGDIR/build.log"
    echo "build failed after $(( $(date +%s) - t0 )) s"
    echo FAIL; exit 1
fi
BUILD_S=$(( $(date +%s) - t0 ))
SIZE=$(docker image inspect -f '{{.Size}}' "$IMAGE")
echo "   built in ${BUILD_S} s; image size $(( SIZE / 1000000 )) MB ($SIZE bytes)"

ok=1
echo "== main job: docker run --rm $IMAGE axsim run sgemm"
t0=$(date +%s)
set +e
$NICE docker run --rm --network "$NET" "$IMAGE" axsim run sgemm >"$LOGDIR/run_sgemm.log" 2>&1
rc=$?
set -e
sed 's/^/   | /' "$LOGDIR/run_sgemm.log"
echo "   exit $rc in $(( $(date +%s) - t0 )) s"
if [ "$rc" != 0 ]; then echo "   main job: exit code $rc"; ok=0; fi
grep -Eq '^ +baseline: .* cycles' "$LOGDIR/run_sgemm.log" || { echo "   main job: no baseline line"; ok=0; }
grep -Eq '^ +SPARCE *: .* cycles' "$LOGDIR/run_sgemm.log" || { echo "   main job: no SPARCE line"; ok=0; }
grep -q 'SPARCE / baseline:' "$LOGDIR/run_sgemm.log" || { echo "   main job: no SPARCE / baseline ratio"; ok=0; }
if grep -q 'MISMATCH' "$LOGDIR/run_sgemm.log"; then echo "   main job: output mismatch vs numpy"; ok=0; fi

if [ "$RUN_TESTS" = 1 ]; then
    echo "== tests: python -m pytest -q $TESTS"
    t0=$(date +%s)
    set +e
    # shellcheck disable=SC2086
    $NICE docker run --rm --network "$NET" "$IMAGE" python -m pytest -q -rs -p no:cacheprovider $TESTS \
        >"$LOGDIR/tests.log" 2>&1
    rc=$?
    set -e
    tail -15 "$LOGDIR/tests.log" | sed 's/^/   | /'
    echo "   exit $rc in $(( $(date +%s) - t0 )) s"
    [ "$rc" = 0 ] || { echo "   tests: pytest exit code $rc"; ok=0; }
fi

echo "== image $IMAGE (BASE=$BASE, $SRC): build ${BUILD_S} s, $(( SIZE / 1000000 )) MB; logs in $LOGDIR"
if [ "$ok" = 1 ]; then echo PASS; exit 0; else echo FAIL; exit 1; fi
