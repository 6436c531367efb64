# Helpers for the shell tests, sourced after they set tmp (a scratch
# folder). Each failed check prints a line and counts in $fails.
fails=0

# expect STATUS DESCRIPTION CMD...: runs CMD, checks its exit status.
expect() {
  want=$1; shift; what=$1; shift
  "$@" >"$tmp/out" 2>"$tmp/err"
  got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL: $what: exit $got, expected $want"; cat "$tmp/err"
    fails=$((fails + 1))
  fi
}
# stderr of the last command must mention TEXT.
says() {
  grep -q -- "$1" "$tmp/err" || {
    echo "FAIL: message lacks '$1':"; cat "$tmp/err"; fails=$((fails + 1)); }
}
# check DESCRIPTION SHELL-CONDITION
check() {
  if ! eval "$2"; then echo "FAIL: $1"; fails=$((fails + 1)); fi
}
