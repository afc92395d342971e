#!/bin/sh
# make install / uninstall into a temporary prefix, and the embed example
# built against the installed library with pkg-config alone.
. tests/integration/lib.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
plain=$(plain_build)
p="$out/prefix"
# A fresh make, not this one's flags: the test installs what a user would.
inst() { (plain_env; make -s BUILD="$plain" "$@" install-files) >/dev/null; }

inst PREFIX="$p"
check "make install exits 0" [ $? -eq 0 ]
for f in bin/lplug include/lplug.h lib/liblplug.a lib/liblplug.so.0.1.0 \
         lib/pkgconfig/lplug.pc share/man/man1/lplug.1; do
  check "installs $f" [ -f "$p/$f" ]
done
check "liblplug.so.0 links to liblplug.so.0.1.0" \
  [ "$(readlink "$p/lib/liblplug.so.0")" = liblplug.so.0.1.0 ]
check "liblplug.so links to liblplug.so.0" \
  [ "$(readlink "$p/lib/liblplug.so")" = liblplug.so.0 ]
check "the library's soname is liblplug.so.0" \
  sh -c "objdump -p '$p/lib/liblplug.so.0.1.0' | grep -q 'SONAME *liblplug.so.0$'"
check "the installed lplug runs" \
  sh -c "'$p/bin/lplug' version | grep -q '^lplug 0.1.0 '"
check "the man page renders without a roff warning" \
  sh -c "groff -man -Tutf8 -ww '$p/share/man/man1/lplug.1' 2>&1 >/dev/null | grep -q . && exit 1
         groff -man -Tutf8 '$p/share/man/man1/lplug.1' 2>/dev/null | grep -q 'lplug run'"

export PKG_CONFIG_PATH="$p/lib/pkgconfig"
check "pkg-config knows lplug 0.1.0" [ "$(pkg-config --modversion lplug)" = 0.1.0 ]
ex=examples/embed
# shellcheck disable=SC2046
cc -o "$out/shared" $ex/request-filter.c $(pkg-config --cflags --libs lplug)
check "the embed example builds with pkg-config --cflags --libs lplug" [ $? -eq 0 ]
LD_LIBRARY_PATH="$p/lib" "$out/shared" $ex/plugins 3 <$ex/requests.jsonl \
  2>/dev/null >"$out/shared.out"
check "and runs on the installed liblplug.so" cmp -s "$out/shared.out" $ex/expected.out
check "which it loads from the prefix" \
  sh -c "LD_LIBRARY_PATH='$p/lib' ldd '$out/shared' | grep -q '$p/lib/liblplug.so.0'"
# shellcheck disable=SC2046
cc -o "$out/static" $ex/request-filter.c $(pkg-config --cflags lplug) \
  "$(pkg-config --variable=libdir lplug)/liblplug.a" $(pkg-config --libs --static lplug)
check "linked statically with pkg-config --static's private libraries" [ $? -eq 0 ]
"$out/static" $ex/plugins 3 <$ex/requests.jsonl 2>/dev/null >"$out/static.out"
check "the static build gives the same output" cmp -s "$out/static.out" $ex/expected.out

# `make install` asks only for the packages that building needs: with the
# test tools missing and no way to install them (apt-get and sudo fail
# here, and say so), a user can still install under their home.
shim="$out/shim"
mkdir -p "$shim"
cat >"$shim/dpkg-query" <<'EOS'
#!/bin/sh
for a in "$@"; do last=$a; done
case "$last" in libcmocka-dev|luajit|luarocks|groff-base|valgrind|lua5.4) exit 1;; esac
exec /usr/bin/dpkg-query "$@"
EOS
printf '#!/bin/sh\necho "$0 $*" >>"%s"\nexit 1\n' "$out/asked" >"$shim/apt-get"
cp "$shim/apt-get" "$shim/sudo"
chmod +x "$shim/dpkg-query" "$shim/apt-get" "$shim/sudo"
(plain_env; PATH="$shim:$PATH" make -s BUILD="$plain" PREFIX="$out/home" install) \
  >"$out/install.log" 2>&1
status=$?
check "make install works without the test tools" [ $status -eq 0 ]
[ $status -eq 0 ] || cat "$out/install.log"
check "and installs no package for them" [ ! -e "$out/asked" ]
check "the library is installed" [ -f "$out/home/lib/liblplug.so.0.1.0" ]
check "make test's packages include the test tools" \
  sh -c "PATH='$shim:$PATH' scripts/install-deps 2>/dev/null | grep -q 'installing:.* libcmocka-dev'"

# docs/embedding.md's commands as written, but for where host.c and host
# are: make install under a home, then its first C example built with
# the shared library (found through the -rpath the page gives, no
# LD_LIBRARY_PATH) and with the static one.
doc="$out/doc"
scripts/doc-blocks c docs/embedding.md "$doc" >/dev/null
scripts/doc-blocks sh docs/embedding.md "$doc" >/dev/null
cp "$doc/1.c" "$doc/host.c"
{ sed "s|^\./host\$|./host >shared.stdout|" "$doc/1.sh"; cat "$doc/2.sh";
  echo "./host >static.stdout"; } |
  sed "s|host\.c|$doc/host.c|g; s|-o host|-o $doc/host|g; s|^\./host >|$doc/host >$doc/|" \
  >"$doc/commands.sh"
(plain_env; unset LD_LIBRARY_PATH; export BUILD="$plain"; HOME="$out/dochome" \
  sh -e "$doc/commands.sh") >"$doc/log" 2>&1
status=$?
check "docs/embedding.md's install and build commands run as written" [ $status -eq 0 ]
[ $status -eq 0 ] || cat "$doc/commands.sh" "$doc/log"
check "the shared build runs, finding liblplug.so.0 by its rpath" \
  cmp -s "$doc/shared.stdout" "$doc/1.out"
check "the static build runs" cmp -s "$doc/static.stdout" "$doc/1.out"

# README.md's build command, as written but for where host.c is, against
# the prefix installed above: the program finds liblplug.so.0 by itself.
readme="$out/readme"
mkdir -p "$readme"
n=$(scripts/doc-blocks sh README.md "$readme")
i=1
while [ "$i" -le "$n" ] && ! grep -q 'pkg-config --cflags --libs lplug' "$readme/$i.sh"; do
  i=$((i + 1))
done
sed "s|host\.c|$doc/host.c|g; s|-o host|-o $readme/host|g" "$readme/$i.sh" \
  >"$readme/build.sh" 2>/dev/null
(unset LD_LIBRARY_PATH; sh -e "$readme/build.sh" && "$readme/host" >"$readme/stdout") \
  >"$readme/log" 2>&1
status=$?
check "README.md's build command makes a host that runs as it is" [ $status -eq 0 ]
[ $status -eq 0 ] || cat "$readme/build.sh" "$readme/log"
check "and it gives embedding.md's output" cmp -s "$readme/stdout" "$doc/1.out"

inst PREFIX=/usr/local DESTDIR="$out/stage"
check "DESTDIR stages under DESTDIR/PREFIX" [ -f "$out/stage/usr/local/lib/liblplug.a" ]
check "with lplug.pc naming PREFIX, not DESTDIR" \
  grep -qx 'prefix=/usr/local' "$out/stage/usr/local/lib/pkgconfig/lplug.pc"

(plain_env; make -s PREFIX="$p" uninstall) >/dev/null
check "make uninstall removes every installed file" \
  [ -z "$(find "$p" -type f -o -type l)" ]
done_testing
