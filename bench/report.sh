#!/usr/bin/env bash
# Turns a benchmark results file into Markdown tables and PNG plots.
#
#   report.sh RESULTS.json OUT.md PLOT_DIR          tables into OUT.md, plots into PLOT_DIR
#   report.sh --update-doc DOC.md OUT.md STAMP      puts OUT.md between DOC.md's result markers
set -euo pipefail

if [[ ${1:-} == --update-doc ]]; then
  doc=$2 body=$3 stamp=$4
  begin='<!-- results:begin -->' end='<!-- results:end -->'
  grep -qF "$begin" "$doc" && grep -qF "$end" "$doc" || { echo "report.sh: $doc lacks the result markers" >&2; exit 1; }
  {
    sed "/$begin/q" "$doc"
    echo
    echo "Run \`$stamp\` (raw numbers: \`bench/results/$stamp.json\`)."
    echo
    cat "$body"
    echo
    sed -n "/$end/,\$p" "$doc"
  } >"$doc.tmp"
  mv "$doc.tmp" "$doc"
  exit 0
fi

results=$1 out=$2 plots=$3
mkdir -p "$plots"

names='{"A": "A progress-bridge", "B": "B Socket.IO relay", "C": "C Mosquitto websockets", "D": "D plain ws relay", "A-fresh": "A progress-bridge, no cursor", "A-state": "A progress-bridge, state resume"}'
# q [JQ OPTIONS] PROGRAM: the program runs on the results with the names and `us` (microseconds).
q() {
  local options=("${@:1:$#-1}") program=${*: -1}
  jq -r --argjson names "$names" "${options[@]}" \
    'def us(x): if x == null then "—" else "\(x * 10 | round / 10) µs" end; '"$program" "$results"
}

{
  echo "Host: $(q '"\(.host.cpus) CPUs, Linux \(.host.kernel), \(.host.mosquitto), Node \(.host.node)"'); contenders run one at a time, each with a fresh Mosquitto."
  echo

  if q -e '.results.S1' >/dev/null; then
    echo "### S1 — idle capacity"
    echo
    echo "| contender | clients | ready | RSS per connection | connect → state p50 | p99 | all connected after | CPU per connection | state on connect |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
    q '.results.S1 | sort_by(.contender, .clients)[] |
      "| \($names[.contender]) | \(.clients) | \(.ready) | \(.rss_per_connection_kib * 10 | round / 10) KiB | \(.connect_to_state.p50) ms | \(.connect_to_state.p99) ms | \(.connect_wall_s * 100 | round / 100) s | \(us(.cpu_us_per_connection)) | \(if .with_state then "yes" else "no (subscribed only)" end) |"'
    echo
  fi

  if q -e '.results.S2' >/dev/null; then
    echo "### S2 — targeted progress (one user per client)"
    echo
    echo "Latency p50 / p99 in ms and delivered/sent per publish-rate step; **max** is the highest step with p99 < 100 ms and loss < 0.1 %."
    echo
    header=$(q '[.results.S2[0].steps[] | "\(.rate) msg/s"] | join(" | ")')
    echo "CPU per message is the contender's CPU time over every step divided by the messages published (for C, the broker's); per delivery, divided by the messages the clients received."
    echo
    echo "| contender | max sustainable | $header | CPU per message | CPU per delivery | contender CPU s | broker CPU s | peak RSS |"
    echo "|---|---:|$(q '[.results.S2[0].steps[] | "---:"] | join("|")')|---:|---:|---:|---:|---:|"
    q '.results.S2 | sort_by(.contender)[] |
      "| \($names[.contender]) | \(.max_sustainable_rate // "—") | " +
      ([.steps[] | "\(.p50) / \(.p99) (\((.delivered_ratio // 0) * 1000 | floor / 10) %)" +
        (if (.achieved_rate // 0) < 0.97 * (.rate // 0) then " ⚠ sent \(.achieved_rate | round)/s" else "" end)] | join(" | ")) +
      " | \(us(.cpu_us_per_message)) | \(us(.cpu_us_per_delivery)) | \(.contender_cpu_s // "(is the broker)") | \(.broker_cpu_s) | \(.peak_rss_kib / 1024 | round) MiB |"'
    echo
    if q -e '[.results.S2[].steps[].cpu_us_per_message] | any' >/dev/null; then
      echo "CPU per message by step: the contender's CPU time during the step (for C, the broker's) divided by the messages published in it."
      echo
      echo "| contender | $header |"
      echo "|---|$(q '[.results.S2[0].steps[] | "---:"] | join("|")')|"
      q '.results.S2 | sort_by(.contender)[] |
        "| \($names[.contender]) | " + ([.steps[] | us(.cpu_us_per_message)] | join(" | ")) + " |"'
      echo
    fi
    echo "![S2 p99 latency by publish rate](benchmarks/s2-p99.png)"
    echo
  fi

  if q -e '.results.S3' >/dev/null; then
    echo "### S3 — fan-out (all clients watch one user)"
    echo
    echo "| contender | clients | sent | delivered | p50 | p99 | p99.9 | max | CPU per message | CPU per delivery | contender CPU s |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    q '.results.S3 | sort_by(.contender)[] |
      "| \($names[.contender]) | \(.clients) | \(.sent) | \(.delivered_ratio * 1000 | floor / 10) % | \(.latency.p50) ms | \(.latency.p99) ms | \(.latency.p999) ms | \(.latency.max) ms | \(us(.cpu_us_per_message)) | \(us(.cpu_us_per_delivery)) | \(.contender_cpu_s) |"'
    echo
  fi

  if q -e '.results.S4' >/dev/null; then
    echo "### S4 — burst with slow consumers"
    echo
    echo "Messages received over messages sent to the clients that kept reading; the bridge conflates a job's pending updates to the newest, so it sends fewer on purpose (every client still ends with the final state). \"sent\" below 20,000 means the broker did not take the whole burst within the publisher's bound (burst + 10 s), so no client could see the final states."
    echo
    echo "| contender | sent | others p99 | others max | others received/sent | slow clients' max | slow clients with final state | others with final state | peak RSS | CPU per message | disconnects |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    q '.results.S4 | sort_by(.contender)[] |
      "| \($names[.contender]) | \(.sent) | \(.others.p99) ms | \(.others.max) ms | \(.others_delivered_ratio * 1000 | floor / 10) % | \(.slow.max) ms | \(.final_state.slow_ok)/\(.final_state.slow_clients) | \(.final_state.normal_ok)/\(.final_state.normal_clients) | \(.peak_rss_kib / 1024 | round) MiB | \(us(.cpu_us_per_message)) | \(.disconnects) \(if (.close_codes | length) > 0 then "(codes \(.close_codes | tojson))" else "" end) |"'
    echo
  fi

  if q -e '.results.S5' >/dev/null; then
    echo "### S5 — REST latest state under load"
    echo
    echo "| contender | live rate | requests/s | p50 | p99 | p99.9 | max | errors | live p99 meanwhile | CPU per live message |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    q '.results.S5 | sort_by(.contender)[] |
      if .na then "| \($names[.contender]) | N/A (\(.na)) | | | | | | | | |"
      else "| \($names[.contender]) | \(.steps[0].rate) msg/s | \(.rest.rps) | \(.rest.p50) ms | \(.rest.p99) ms | \(.rest.p999) ms | \(.rest.max) ms | \(.rest.errors + .rest.non2xx) | \(.steps[0].p99) ms | \(us(.cpu_us_per_message)) |" end'
    echo
  fi

  if q -e '.results.S6' >/dev/null; then
    echo "### S6 — reconnect storm"
    echo
    echo "| contender | clients | recovered | time until 99 % have their state | max | CPU per reconnect | what \"recovered\" means |"
    echo "|---|---:|---:|---:|---:|---:|---|"
    q '.results.S6 | sort_by(.contender)[] |
      "| \($names[.contender]) | \(.clients) | \(.recovered) | \(.recovery.p99) ms | \(.recovery.max) ms | \(us(.cpu_us_per_reconnect)) | \(if .contender == "A" then "resumed with its cursor: state confirmed current" elif .contender == "A-state" then "resumed with the job versions it holds: state confirmed current" elif .with_state then "current state received again" else "resubscribed; no state until the next update" end) |"'
    echo
  fi
  if q -e '.results.S7' >/dev/null; then
    echo "### S7 — start-up with many retained jobs"
    echo
    echo "Small job states (~110 bytes: status, progress, ordering, worker) seeded retained through Mosquitto. C is the time Mosquitto takes to replay them all to a plain \`mosquitto_sub\` (QoS 1); A is the time from starting the bridge to \`/readyz\` answering 200 with every job loaded, first with an empty data directory, then restarted with its journal. RSS per job: the bridge's resident memory when ready, less that of the same bridge with no jobs, divided by the jobs."
    echo
    echo "| contender | jobs | start | ready after | vs Mosquitto's replay | CPU | CPU per job | RSS per job | peak RSS | served (sampled users complete / jobs found) |"
    echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---|"
    q '(.results.S7 | map(select(.contender == "C"))[0].replay_ms) as $replay | .results.S7 | sort_by(.contender)[] |
      if .na then "| \($names[.contender]) | | N/A (\(.na)) | | | | | | | |"
      elif .contender == "C" then "| \($names[.contender]) | \(.jobs) | replay to mosquitto_sub | \(.replay_ms / 1000) s | 1.0× | \(.broker_cpu_s) s (broker) | \(us(.broker_cpu_s * 1e6 / .jobs)) | | | \(.received) received |"
      else . as $r | .starts[] | "| \($names[$r.contender]) | \($r.jobs) | \(.start) | \(.ready_ms / 1000) s | \(if $replay then "\(.ready_ms / $replay * 100 | round / 100)×" else "—" end) | \(.cpu_s) s | \(us(.cpu_s * 1e6 / $r.jobs)) | \(.rss_per_job_bytes) B | \(.peak_rss_kib / 1024 | round) MiB | \($r.served.users_complete)/\($r.served.sampled), \($r.served.jobs_found)/\($r.served.sampled) |" end'
    echo
  fi

  if q -e '.results.S8' >/dev/null; then
    echo "### S8 — failover to another bridge replica"
    echo
    echo "| recovery | clients | recovered | time until 99 % hold their current state | max | received | per client | sent |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    q '.results.S8 | sort_by(.contender)[] | select(.na == null) |
      "| \(if .contender == "A-state" then "state resume" else "full snapshot" end) | \(.clients) | \(.recovered) | \(.recovery.p99) ms | \(.recovery.max) ms | \(.bytes_received) B | \(.bytes_per_client | floor) B | \(.bytes_sent) B |"'
    echo
  fi
} >"$out"

# Plot: S2 p99 latency against the publish rate, one line per contender.
if q -e '.results.S2' >/dev/null; then
  data=$plots/s2.dat
  : >"$data"
  for c in $(q '.results.S2[].contender' | sort -u); do
    q --arg c "$c" '"\"\($names[$c])\""' >>"$data"
    q --arg c "$c" '.results.S2[] | select(.contender == $c) | .steps[] | "\(.rate) \(.p99) \(.p50)"' >>"$data"
    printf '\n\n' >>"$data"
  done
  gnuplot <<PLOT
set terminal pngcairo size 900,500 font ",10"
set output "$plots/s2-p99.png"
set title "S2: p99 latency by publish rate (5k clients, one user each)"
set xlabel "publish rate (msg/s)"
set ylabel "p99 latency (ms)"
set logscale xy
set grid
set key top left
set arrow from graph 0, first 100 to graph 1, first 100 nohead dt 2 lc rgb "red"
plot for [i=0:*] "$data" index i using 1:2 with linespoints lw 2 title columnheader(1)
PLOT
fi
# Plot: S1 memory per idle connection.
if q -e '.results.S1' >/dev/null; then
  data=$plots/s1.dat
  : >"$data"
  for c in $(q '.results.S1[].contender' | sort -u); do
    q --arg c "$c" '"\"\($names[$c])\""' >>"$data"
    q --arg c "$c" '.results.S1[] | select(.contender == $c) | "\(.clients) \(.rss_per_connection_kib)"' | sort -n >>"$data"
    printf '\n\n' >>"$data"
  done
  gnuplot <<PLOT
set terminal pngcairo size 900,500 font ",10"
set output "$plots/s1-rss.png"
set title "S1: contender memory per idle connection"
set xlabel "idle clients"
set ylabel "RSS per connection (KiB)"
set logscale x
set grid
set key top right
plot for [i=0:*] "$data" index i using 1:2 with linespoints lw 2 title columnheader(1)
PLOT
  sed -i 's|^### S1 — idle capacity$|&\n\n![S1 memory per idle connection](benchmarks/s1-rss.png)|' "$out"
fi
