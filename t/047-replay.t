use FindBin; use lib "$FindBin::Bin/lib"; use Confer::Unit; run_unit('replay');
