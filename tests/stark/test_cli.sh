#!/bin/sh
# test_cli: the `stark` command line, by its exit codes and output lines.
#
#   0 proved / valid, 1 invalid proof, 2 usage or input error.
#
# Usage: tests/stark/test_cli.sh [path/to/stark]   (default build/stark)
set -u

stark=${1:-build/stark}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
count=0

# expect CODE NAME CMD...: run CMD, compare its exit status with CODE.
expect() {
	want=$1 name=$2
	shift 2
	count=$((count + 1))
	"$@" >"$dir/out" 2>"$dir/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		echo "FAIL $name: exit $got, expected $want"
		sed 's/^/  | /' "$dir/out" "$dir/err"
		fails=$((fails + 1))
		return 1
	fi
	return 0
}

# contains FILE TEXT NAME: FILE (out or err) has TEXT.
contains() {
	count=$((count + 1))
	if ! grep -qF -- "$2" "$dir/$1"; then
		echo "FAIL $3: $1 lacks \"$2\""
		sed 's/^/  | /' "$dir/$1"
		fails=$((fails + 1))
	fi
}

input=0123456789abcdef00000000000000ff

expect 0 prove_input "$stark" prove --steps 64 --input $input --out "$dir/a.ub" \
	--statement-out "$dir/a.json"
contains out "stark: proved 64 steps, output " prove_prints_statement
contains out "parameter set 1, 99-bit security, 57 bits provable" prove_prints_security
count=$((count + 1))
if grep -q $input "$dir/out" "$dir/err" "$dir/a.json"; then
	echo "FAIL secret_input_not_printed"
	fails=$((fails + 1))
fi

expect 0 prove_is_deterministic "$stark" prove --steps 64 --input $input --out "$dir/b.ub"
expect 0 same_input_same_proof cmp -s "$dir/a.ub" "$dir/b.ub"

# A proof alone proves *some* statement: verify wants the one to check.
expect 2 verify_needs_a_statement "$stark" verify "$dir/a.ub"
contains err "verify needs one of --statement FILE or --print-statement" verify_needs_statement_reason
expect 2 verify_statement_and_print "$stark" verify "$dir/a.ub" --statement "$dir/a.json" \
	--print-statement
expect 0 verify_with_statement "$stark" verify "$dir/a.ub" --statement "$dir/a.json"
contains out "stark: valid proof of 64 steps, output " verify_prints_statement
expect 0 verify_print_statement "$stark" verify "$dir/a.ub" --print-statement
cp "$dir/out" "$dir/printed.json"
expect 0 printed_statement_is_the_file cmp -s "$dir/printed.json" "$dir/a.json"

expect 0 prove_random "$stark" prove --steps 128 --random --out "$dir/c.ub" \
	--statement-out "$dir/c.json"
expect 1 verify_other_statement "$stark" verify "$dir/a.ub" --statement "$dir/c.json"
contains err "stark: invalid proof: proof is for another statement" other_statement_reason

# One byte changed in the middle of the proof.
cp "$dir/a.ub" "$dir/bad.ub"
printf '\377' | dd of="$dir/bad.ub" bs=1 seek=5000 conv=notrunc 2>/dev/null
expect 1 verify_print_corrupted "$stark" verify "$dir/bad.ub" --print-statement
count=$((count + 1))
if [ -s "$dir/out" ]; then
	echo "FAIL corrupted_proof_prints_no_statement"
	fails=$((fails + 1))
fi
expect 1 verify_corrupted "$stark" verify "$dir/bad.ub" --statement "$dir/a.json"
contains err "stark: invalid proof: " corrupted_reason
count=$((count + 1))
if [ "$(wc -l <"$dir/err")" -ne 1 ]; then
	echo "FAIL reason_is_one_line"
	fails=$((fails + 1))
fi

head -c 1000 "$dir/a.ub" >"$dir/short.ub"
expect 1 verify_truncated "$stark" verify "$dir/short.ub" --statement "$dir/a.json"
: >"$dir/empty.ub"
expect 1 verify_empty "$stark" verify "$dir/empty.ub" --print-statement

expect 2 no_arguments "$stark"
expect 0 help "$stark" --help
contains out "usage: stark prove" help_text
expect 2 unknown_command "$stark" frobnicate
expect 2 prove_without_out "$stark" prove --steps 64 --random
expect 2 prove_both_inputs "$stark" prove --steps 64 --random --input $input --out "$dir/x.ub"
expect 2 prove_no_input "$stark" prove --steps 64 --out "$dir/x.ub"
expect 2 steps_not_power_of_two "$stark" prove --steps 100 --random --out "$dir/x.ub"
expect 2 steps_too_small "$stark" prove --steps 32 --random --out "$dir/x.ub"
expect 2 steps_too_large "$stark" prove --steps 2097152 --random --out "$dir/x.ub"
expect 2 input_not_hex "$stark" prove --steps 64 --input xyz --out "$dir/x.ub"
# --input also takes a 0x prefix and upper case; the statement file does not.
expect 0 input_prefix_and_upper_case "$stark" prove --steps 64 --input 0X0123456789ABCDEF00000000000000FF \
	--out "$dir/u.ub"
expect 0 same_proof_for_either_spelling cmp -s "$dir/a.ub" "$dir/u.ub"
sed 's/"output":"\([0-9a-f]*\)"/"output":"0x\1"/' "$dir/a.json" >"$dir/prefixed.json"
expect 2 statement_output_with_prefix "$stark" verify "$dir/a.ub" --statement "$dir/prefixed.json"
sed 's/"output":"\([0-9a-f]*\)"/"output":"\U\1"/' "$dir/a.json" >"$dir/upper.json"
expect 2 statement_output_upper_case "$stark" verify "$dir/a.ub" --statement "$dir/upper.json"
contains err "lower-case hex" upper_case_reason
expect 2 input_word_above_p "$stark" prove --steps 64 \
	--input ffffffffffffffff0000000000000000 --out "$dir/x.ub"
expect 2 unknown_option "$stark" prove --steps 64 --random --out "$dir/x.ub" --fast
expect 2 output_dir_missing "$stark" prove --steps 64 --random --out "$dir/no/such/x.ub"
count=$((count + 1))
if [ -e "$dir/x.ub" ]; then
	echo "FAIL no_output_on_usage_error"
	fails=$((fails + 1))
fi
expect 2 verify_missing_file "$stark" verify "$dir/none.ub" --print-statement
expect 2 verify_two_files "$stark" verify "$dir/a.ub" "$dir/b.ub" --print-statement
echo '{"steps":64}' >"$dir/bad.json"
expect 2 verify_bad_statement "$stark" verify "$dir/a.ub" --statement "$dir/bad.json"
contains err "required" bad_statement_reason
sed 's/"params":1/"params":7/' "$dir/a.json" >"$dir/p7.json"
expect 2 verify_statement_other_params "$stark" verify "$dir/a.ub" --statement "$dir/p7.json"

# Parameter set 2: chosen with --params; verify follows the statement file.
expect 0 prove_params_2 "$stark" prove --steps 64 --input $input --params 2 --out "$dir/s2.ub" \
	--statement-out "$dir/s2.json"
contains out "parameter set 2, 118-bit security, 100 bits provable" params_2_security
contains s2.json '"params":2' params_2_statement
expect 0 verify_params_from_statement "$stark" verify "$dir/s2.ub" --statement "$dir/s2.json"
expect 0 verify_params_2_print "$stark" verify "$dir/s2.ub" --params 2 --print-statement
expect 1 verify_set_2_proof_as_set_1 "$stark" verify "$dir/s2.ub" --print-statement
contains err "proof uses parameter set 2, expected 1" set_2_proof_as_set_1_reason
expect 2 verify_params_disagree_with_statement "$stark" verify "$dir/s2.ub" --params 1 \
	--statement "$dir/s2.json"
expect 1 verify_set_1_proof_for_set_2_statement "$stark" verify "$dir/a.ub" --params 2 \
	--statement "$dir/s2.json"
expect 2 prove_params_unknown "$stark" prove --steps 64 --random --params 3 --out "$dir/x.ub"
expect 2 verify_params_unknown "$stark" verify "$dir/a.ub" --params 12 --print-statement

if [ "$fails" -ne 0 ]; then
	echo "stark cli: $fails of $count checks failed"
	exit 1
fi
echo "stark cli: $count checks passed"
