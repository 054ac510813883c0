#!/usr/bin/env bash
# The artefacts of a gem5 ARM full-system run (gem5_configs/fs_sparce.py, `axsim gem5 --fs DIR`):
#
#     gem5_configs/fs_artefacts.sh DIR [GEM5_SRC]
#
# writes into DIR (made if missing; every step is skipped when its file is already there):
#   vmlinux          Debian's arm64 "cloud" kernel as an ELF gem5 loads (from linux-image-<ver>-cloud-arm64-dbg,
#                    debug sections stripped, symbols kept: gem5 looks up unflatten_device_tree & co.)
#   initramfs.cpio   busybox-static (arm64) + m5 + an /init that runs the script of `m5 readfile`
#   m5               gem5's m5 utility (util/m5, static, instruction call type), cross-built
#   boot_v2.arm64    gem5's arm64 bootloader for VExpress_GEM5_V2 (system/arm/bootloader/arm64)
#   versions.txt     what was used
# GEM5_SRC (default $GEM5_SRC, then /opt/gem5) is a gem5 v24.0.0.1 source tree (for util/m5 and the
# bootloader). Needs: aarch64-linux-gnu-gcc/g++, make, dpkg-deb, apt-get with the arm64 architecture
# (added here when missing, as root), python3. KVER=6.1.0-57 picks a kernel ABI (default: the one
# linux-image-cloud-arm64-dbg depends on). Errors are one line on stderr, exit status 1.
set -euo pipefail

die() { echo "fs_artefacts.sh: $*" >&2; exit 1; }
[ $# -ge 1 ] || die "usage: fs_artefacts.sh DIR [GEM5_SRC]"
OUT=$1
SRC=${2:-${GEM5_SRC:-/opt/gem5}}
[ -d "$SRC/util/m5/src" ] || die "gem5 source tree not found at $SRC (no util/m5/src); pass GEM5_SRC"
[ -f "$SRC/system/arm/bootloader/arm64/boot.S" ] || die "no system/arm/bootloader/arm64/boot.S in $SRC"
for tool in aarch64-linux-gnu-gcc aarch64-linux-gnu-g++ aarch64-linux-gnu-strip make dpkg-deb apt-get python3; do
    command -v "$tool" >/dev/null || die "missing tool $tool (apt-get install gcc-aarch64-linux-gnu g++-aarch64-linux-gnu make)"
done
mkdir -p "$OUT" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$OUT/.work
mkdir -p "$WORK"
log() { echo "fs_artefacts.sh: $*"; }
t0() { T0=$(date +%s); }
t1() { log "$1 ($(( $(date +%s) - T0 )) s, $(stat -c %s "$2") bytes)"; }

ensure_arm64() {
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        [ "$(id -u)" = 0 ] || die "the arm64 architecture is not enabled (run as root: dpkg --add-architecture arm64 && apt-get update)"
        dpkg --add-architecture arm64 || die "dpkg --add-architecture arm64 failed"
        apt-get update -qq >/dev/null 2>&1 || die "apt-get update failed"
    fi
    apt-cache show busybox-static:arm64 >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null 2>&1 || die "apt-get update failed"; }
}

download() {   # download PACKAGE:arm64 into $WORK, print the .deb path
    local pkg=$1 name=${1%%:*}
    local deb
    deb=$(ls "$WORK"/"${name}"_*_arm64.deb 2>/dev/null | head -1 || true)
    if [ -z "$deb" ]; then
        (cd "$WORK" && apt-get download -q "$pkg" >/dev/null 2>"$WORK/apt.err") \
            || die "apt-get download $pkg failed: $(tail -1 "$WORK/apt.err")"
        deb=$(ls "$WORK"/"${name}"_*_arm64.deb 2>/dev/null | head -1 || true)
        [ -n "$deb" ] || die "apt-get download $pkg left no .deb in $WORK"
    fi
    echo "$deb"
}

# ---------------------------------------------------------------- kernel
if [ ! -s "$OUT/vmlinux" ]; then
    ensure_arm64
    t0
    if [ -z "${KVER:-}" ]; then
        KVER=$(apt-cache depends linux-image-cloud-arm64-dbg:arm64 2>/dev/null \
               | sed -n 's/.*Depends: linux-image-\(.*\)-cloud-arm64-dbg.*/\1/p' | head -1)
        [ -n "$KVER" ] || die "cannot resolve the kernel version of linux-image-cloud-arm64-dbg:arm64 (set KVER)"
    fi
    deb=$(download "linux-image-${KVER}-cloud-arm64-dbg:arm64")
    rm -rf "$WORK/kernel" && mkdir -p "$WORK/kernel"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$WORK/kernel" --wildcards './usr/lib/debug/boot/vmlinux-*' \
        || die "no usr/lib/debug/boot/vmlinux-* in $deb"
    raw=$(ls "$WORK"/kernel/usr/lib/debug/boot/vmlinux-* | head -1)
    aarch64-linux-gnu-strip --strip-debug -o "$OUT/vmlinux.tmp" "$raw" || die "strip of $raw failed"
    mv "$OUT/vmlinux.tmp" "$OUT/vmlinux"
    rm -rf "$WORK/kernel" "$deb"
    echo "kernel linux-image-${KVER}-cloud-arm64-dbg ($(basename "$raw"))" >> "$OUT/versions.txt"
    t1 "vmlinux from linux-image-${KVER}-cloud-arm64-dbg" "$OUT/vmlinux"
fi

# ---------------------------------------------------------------- m5 utility
if [ ! -s "$OUT/m5" ]; then
    t0
    M5=$SRC/util/m5/src
    rm -rf "$WORK/m5" && mkdir -p "$WORK/m5"
    flags=(-O2 -I"$M5" -I"$SRC/include" -DM5OP_ADDR=0x10010000)
    objs=()
    for f in args.cc call_type.cc command.cc m5.cc usage.cc $(cd "$M5" && echo command/*.cc call_type/*.cc); do
        case $f in *.test.cc) continue ;; esac
        def=()
        case $f in call_type/inst.cc) def=(-DCALL_TYPE_IS_DEFAULT=true) ;;
                   call_type/*) def=(-DCALL_TYPE_IS_DEFAULT=false) ;; esac
        o=$WORK/m5/$(echo "$f" | tr / _).o
        aarch64-linux-gnu-g++ -std=c++14 "${flags[@]}" "${def[@]}" -c "$M5/$f" -o "$o" 2>"$WORK/m5.err" \
            || die "compiling util/m5/src/$f failed: $(grep -m1 error "$WORK/m5.err")"
        objs+=("$o")
    done
    for f in m5_mmap.c abi/arm64/m5op.S abi/arm64/m5op_addr.S abi/arm64/m5op_semi.S; do
        o=$WORK/m5/$(echo "$f" | tr / _).o
        aarch64-linux-gnu-gcc "${flags[@]}" -c "$M5/$f" -o "$o" 2>"$WORK/m5.err" \
            || die "compiling util/m5/src/$f failed: $(grep -m1 error "$WORK/m5.err")"
        objs+=("$o")
    done
    aarch64-linux-gnu-g++ -static -no-pie -o "$OUT/m5.tmp" "${objs[@]}" 2>"$WORK/m5.err" \
        || die "linking m5 failed: $(grep -m1 -i error "$WORK/m5.err")"
    aarch64-linux-gnu-strip "$OUT/m5.tmp" && mv "$OUT/m5.tmp" "$OUT/m5"
    t1 "m5 (util/m5, static arm64)" "$OUT/m5"
fi

# ---------------------------------------------------------------- bootloader
if [ ! -s "$OUT/boot_v2.arm64" ]; then
    t0
    rm -rf "$WORK/boot" && mkdir -p "$WORK/boot"
    make -s -C "$SRC/system/arm/bootloader/arm64" CROSS_COMPILE=aarch64-linux-gnu- BUILDDIR="$WORK/boot" \
        "$WORK/boot/boot_v2.arm64" >"$WORK/boot.err" 2>&1 || die "bootloader build failed: $(tail -1 "$WORK/boot.err")"
    cp "$WORK/boot/boot_v2.arm64" "$OUT/boot_v2.arm64"
    t1 "boot_v2.arm64 (system/arm/bootloader/arm64)" "$OUT/boot_v2.arm64"
fi

# ---------------------------------------------------------------- initramfs
if [ ! -s "$OUT/initramfs.cpio" ]; then
    ensure_arm64
    t0
    deb=$(download busybox-static:arm64)
    rm -rf "$WORK/bb" && mkdir -p "$WORK/bb"
    dpkg-deb -x "$deb" "$WORK/bb" || die "cannot extract $deb"
    [ -x "$WORK/bb/bin/busybox" ] || die "$deb has no bin/busybox"
    cat > "$WORK/init" <<'EOF'
#!/bin/sh
# axsim FS guest init: run the script the host passed with `m5 readfile`, then `m5 exit`
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /tmp
echo "axsim-fs: init up"
cd /tmp
m5 readfile > /tmp/run.sh
if [ -s /tmp/run.sh ]; then
    sh /tmp/run.sh
    echo "axsim-fs: script exited $?"
else
    echo "axsim-fs: m5 readfile gave no script"
fi
m5 exit
m5 exit
poweroff -f
EOF
    python3 - "$WORK/bb/bin/busybox" "$OUT/m5" "$WORK/init" "$OUT/initramfs.tmp" <<'EOF' || die "writing the initramfs failed"
import os, stat, sys
busybox, m5, init, out = sys.argv[1:]
APPLETS = ("sh ash cat echo mount umount mkdir ls chmod cp mv rm base64 uudecode sleep poweroff reboot "
           "halt dmesg grep sed head tail wc od hexdump md5sum sha256sum sync true false test env uname "
           "date cmp dd printf stat tr cut sort xxd gzip gunzip tee").split()
entries = []   # (name, mode, data, rdev)
def d(name): entries.append((name, stat.S_IFDIR | 0o755, b"", (0, 0)))
def f(name, data, mode=0o755): entries.append((name, stat.S_IFREG | mode, data, (0, 0)))
def l(name, target): entries.append((name, stat.S_IFLNK | 0o777, target.encode(), (0, 0)))
for x in ("bin", "sbin", "dev", "proc", "sys", "tmp", "etc", "root"):
    d(x)
entries.append(("dev/console", stat.S_IFCHR | 0o600, b"", (5, 1)))
entries.append(("dev/null", stat.S_IFCHR | 0o666, b"", (1, 3)))
f("bin/busybox", open(busybox, "rb").read())
f("sbin/m5", open(m5, "rb").read())
f("init", open(init, "rb").read())
for a in APPLETS:
    l("bin/" + a, "busybox")
def hdr(ino, name, mode, size, rdev, nlink):
    fields = (ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev[0], rdev[1], len(name) + 1, 0)
    return ("070701" + "".join(f"{v:08x}" for v in fields)).encode()
buf = bytearray()
def put(ino, name, mode, data, rdev):
    nlink = 2 if stat.S_ISDIR(mode) else 1
    buf.extend(hdr(ino, name, mode, len(data), rdev, nlink) + name.encode() + b"\0")
    buf.extend(b"\0" * (-len(buf) % 4))
    buf.extend(data)
    buf.extend(b"\0" * (-len(buf) % 4))
for i, (name, mode, data, rdev) in enumerate(entries, start=1):
    put(i, name, mode, data, rdev)
put(0, "TRAILER!!!", 0, b"", (0, 0))
with open(out, "wb") as fh:
    fh.write(bytes(buf))
EOF
    mv "$OUT/initramfs.tmp" "$OUT/initramfs.cpio"
    echo "busybox $(basename "$deb")" >> "$OUT/versions.txt"
    t1 "initramfs.cpio (busybox-static arm64 + m5 + /init)" "$OUT/initramfs.cpio"
fi

rm -rf "$WORK/bb" "$WORK/m5" "$WORK/boot"
log "artefacts in $OUT: $(cd "$OUT" && ls vmlinux initramfs.cpio m5 boot_v2.arm64 | tr '\n' ' ')"
