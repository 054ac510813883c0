#!/usr/bin/env bash
# Build docker/Dockerfile.gem5 (gem5 + SPARCE + full-system artefacts on top of the axsim image) and
# run an SE and an FS job inside it. Prints each step's time, PASS or FAIL on the last line, exits 0 / 1.
#
#   docker/build_gem5_image.sh --gem5 /path/to/gem5.fast --fs DIR      # reuse a gem5 built here
#   docker/build_gem5_image.sh                                         # compile gem5 in the image
#
# Options:
#   --gem5 BIN          a gem5.fast built from v24.0.0.1 + isa_ext/gem5 (copied into the image as
#                       /opt/gem5/build/ARM/gem5.fast; its shared libraries are Debian bookworm's)
#   --fs DIR            the artefacts of gem5_configs/fs_artefacts.sh (copied to /opt/axsim-fs)
#   --axsim-image TAG   the base: an image of docker/Dockerfile (default axsim:test, as
#                       docker/build_and_test.sh tags it; build that first)
#   --tag TAG           this image's tag (default axsim-gem5:test)
#   --no-fs-job         build and run the SE job only (the FS job boots Linux: 20-60 minutes here)
# Environment: LOGDIR (default out/docker-gem5), DOCKER_NETWORK (default host), NICE (default nice -n 19).
set -euo pipefail
cd "$(dirname "$0")/.."

GEM5_BIN="" FS_DIR="" BASE_IMAGE="axsim:test" IMAGE="axsim-gem5:test" FS_JOB=1
while [ $# -gt 0 ]; do
    case "$1" in
        --gem5) GEM5_BIN="$2"; shift ;;
        --fs) FS_DIR="$2"; shift ;;
        --axsim-image) BASE_IMAGE="$2"; shift ;;
        --tag) IMAGE="$2"; shift ;;
        --no-fs-job) FS_JOB=0 ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "build_gem5_image.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
NICE=${NICE-nice -n 19}
NET="${DOCKER_NETWORK:-host}"
LOGDIR="${LOGDIR:-out/docker-gem5}"
die() { echo "build_gem5_image.sh: $*" >&2; exit 2; }

docker info >/dev/null 2>&1 || die "no Docker daemon answers (start dockerd first)"
docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 ||
    die "base image $BASE_IMAGE not found (build it with docker/build_and_test.sh, or pass --axsim-image)"
[ -z "$GEM5_BIN" ] || [ -x "$GEM5_BIN" ] || die "--gem5 $GEM5_BIN: not an executable file"
if [ -n "$FS_DIR" ]; then
    for f in vmlinux initramfs.cpio m5 boot_v2.arm64; do
        [ -s "$FS_DIR/$f" ] || die "--fs $FS_DIR: $f missing (make the artefacts with gem5_configs/fs_artefacts.sh $FS_DIR)"
    done
fi
mkdir -p "$LOGDIR"

# the build context: the Dockerfile and docker/prebuilt/ (the rest of axsim is in the base image)
CTX=$(mktemp -d /tmp/axsim-gem5-ctx.XXXXXX)
trap 'rm -rf "$CTX"' EXIT
mkdir -p "$CTX/docker/prebuilt"
cp docker/Dockerfile.gem5 "$CTX/docker/"
cp docker/prebuilt/README.md "$CTX/docker/prebuilt/"
if [ -n "$GEM5_BIN" ]; then
    mkdir -p "$CTX/docker/prebuilt/gem5/build/ARM"
    cp "$GEM5_BIN" "$CTX/docker/prebuilt/gem5/build/ARM/gem5.fast"
fi
if [ -n "$FS_DIR" ]; then
    mkdir -p "$CTX/docker/prebuilt/fs"
    for f in vmlinux initramfs.cpio m5 boot_v2.arm64 versions.txt; do
        [ -e "$FS_DIR/$f" ] && cp "$FS_DIR/$f" "$CTX/docker/prebuilt/fs/"
    done
fi

elapsed() { echo $(( $(date +%s) - $1 )); }
echo "== build: $IMAGE FROM $BASE_IMAGE, gem5 ${GEM5_BIN:-compiled in the image}, FS artefacts ${FS_DIR:-made in the image} (log: $LOGDIR/build.log)"
t0=$(date +%s)
if ! $NICE docker build --network "$NET" --build-arg "AXSIM_IMAGE=$BASE_IMAGE" \
        -f "$CTX/docker/Dockerfile.gem5" -t "$IMAGE" "$CTX" >"$LOGDIR/build.log" 2>&1; then
    tail -30 "$LOGDIR/build.log"
    echo "build failed after $(elapsed "$t0") s"; echo FAIL; exit 1
fi
SIZE=$(docker image inspect -f '{{.Size}}' "$IMAGE")
echo "   built in $(elapsed "$t0") s; image size $(( SIZE / 1000000 )) MB"

ok=1
# one job in the container: its output directory is bind-mounted, so stats.txt comes back
job() {  # name, then the axsim arguments
    local name=$1; shift
    local out="$PWD/$LOGDIR/$name"
    rm -rf "$out"; mkdir -p "$out"
    echo "== $name: docker run $IMAGE axsim $*"
    local t=$(date +%s) rc
    set +e
    $NICE docker run --rm --network "$NET" -v "$out:/job" "$IMAGE" axsim "$@" --out /job/run \
        >"$LOGDIR/$name.log" 2>&1
    rc=$?
    set -e
    tail -12 "$LOGDIR/$name.log" | sed 's/^/   | /'
    echo "   exit $rc in $(elapsed "$t") s"
    [ "$rc" = 0 ] || { echo "   $name: exit code $rc"; ok=0; return; }
    [ -s "$out/run/stats.txt" ] || { echo "   $name: no stats.txt"; ok=0; }
    grep -q "output vs numpy: bit-exact" "$LOGDIR/$name.log" || { echo "   $name: output not bit-exact vs numpy"; ok=0; }
    return 0
}
job se-dot gem5 dot --sparsity 0.5 --sparce on
[ "$FS_JOB" = 0 ] || job fs-sgemm gem5 sgemm --fs /opt/axsim-fs --sparce on --sparsity 0.5 --seed 0 --timeout 5400

echo "== image $IMAGE: $(( SIZE / 1000000 )) MB; logs and outputs in $LOGDIR"
if [ "$ok" = 1 ]; then echo PASS; exit 0; else echo FAIL; exit 1; fi
