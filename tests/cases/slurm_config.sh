# The Slurm configuration file and options, checked without a cluster:
# errors name the file and line and exit 2 before anything is submitted;
# an unknown executor is a usage error.
. "$(dirname "$0")/lib.sh"
mkdir -p data
echo 1 >data/1.txt
cat >vlbuild.rules <<'RULES'
source raw = data/*.txt
rule copy
    each f in raw
    run  cp $in $out
    out  build/{f.stem}
RULES
vl --executor cluster
expect_rc 2
expect_output "--executor expects local or slurm"

printf 'partition = debug\n[rule copy]\ncpus = lots\n' >bad.slurm
vl --executor slurm --slurm-config bad.slurm
expect_rc 2
expect_output "bad.slurm:3: bad value 'lots' for cpus"

printf '[rule copy]\nwindow_ms = 5\n' >bad.slurm
vl --executor slurm --slurm-config bad.slurm
expect_rc 2
expect_output "bad.slurm:2: unknown key 'window_ms' in a rule section"

printf 'version = 2\n' >vlbuild.slurm # the default file, found in the project
vl --executor slurm
expect_rc 2
expect_output "vlbuild.slurm:1: this vlbuild reads version 1 of the file"

printf '[partition debug]\n' >vlbuild.slurm
vl --executor slurm
expect_rc 2
expect_output "vlbuild.slurm:1: expected a section"

vl --executor slurm --slurm-config missing.slurm
expect_rc 2
expect_output "missing.slurm"
expect_no_file build/1

# the local executor ignores the file
vl --executor local
expect_rc 0
expect_summary 1 0 0
finish
