# Latency against delivered rate, from the fan-out sweep of scripts/bench.sh:
# p50 (solid) and p99 (dashed) of every server, both axes logarithmic.
#
#   gnuplot -e "data='build/bench/fanout.dat'; out='build/bench/bench-latency.svg'" latency.gp
#
# data: one block per server (separated by two blank lines), its first line
# the server's name, then "deliveries/s p50_ms p99_ms" per fan-out row.
if (!exists("data") || !exists("out")) { print "usage: gnuplot -e \"data='…'; out='…'\" latency.gp"; exit status 2 }

set terminal svg size 900,520 dynamic enhanced font "sans,13" background "white"
set output out
set title "Broadcast fan-out: latency against delivered rate (1 room, every client receives)"
set xlabel "deliveries per second"
set ylabel "send → receive latency, ms"
set logscale xy
set format x "10^{%L}"
set format y "%g"
set grid xtics ytics mxtics mytics lc "#dddddd"
set key outside right top vertical box title "solid: p50\ndashed: p99"
set style data linespoints
# Issue 11's fan-out target: p99 within 50 ms.
set arrow from graph 0, first 50 to graph 1, first 50 nohead dt 3 lc "#888888"
set label "50 ms" at graph 1, first 50 right offset -0.5, 0.6 tc "#888888"

stats data using 1 nooutput
blocks = STATS_blocks
plot for [i=0:blocks-1] data index i using 1:2 title columnheader(1) lc (i+1) lw 2 pt 7 ps 0.7 dt 1, \
     for [i=0:blocks-1] data index i using 1:3 notitle lc (i+1) lw 2 pt 6 ps 0.7 dt 2
