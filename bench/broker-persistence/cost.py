#!/usr/bin/python3
# What persisting on every change costs Mosquitto (docs/reliability.md, "Broker kill -9"):
# N retained jobs, then M acknowledged updates, with broker-config's autosave_interval 60
# and with autosave_on_changes true + autosave_interval 1; broker CPU, wall time and bytes
# written (wchar). Loopback only.  Usage: cost.py JOBS UPDATES
import os, sys, time, subprocess, tempfile, socket
import paho.mqtt.client as mqtt

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def cpu_and_io(pid):
    f = open(f"/proc/{pid}/stat").read().split(")")[1].split()
    ticks = int(f[11]) + int(f[12])
    io = dict(l.split(": ") for l in open(f"/proc/{pid}/io").read().splitlines())
    return ticks / os.sysconf("SC_CLK_TCK"), int(io["wchar"])

def run(extra, jobs, updates):
    d = tempfile.mkdtemp(prefix="persist-"); os.chmod(d, 0o777)  # a broker started as root runs as user mosquitto
    port = free_port()
    conf = f"{d}/m.conf"
    open(conf, "w").write(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {d}/\nmax_queued_messages 100000\nmax_inflight_messages 1000\n{extra}\n")
    broker = subprocess.Popen(["/usr/sbin/mosquitto", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    c = mqtt.Client(client_id="m", protocol=mqtt.MQTTv5) if hasattr(mqtt, "MQTTv5") else mqtt.Client("m")
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", port); c.loop_start()
    pad = "x" * 300
    def publish_all(n, seq):
        infos = [c.publish(f"users/u{i % 100}/jobs/j{i % jobs}", f'{{"status":"in_progress","seq":{seq + i // jobs},"pad":"{pad}"}}', qos=1, retain=True) for i in range(n)]
        for info in infos: info.wait_for_publish(60)
    publish_all(jobs, 1)
    cpu0, io0 = cpu_and_io(broker.pid)
    t0 = time.monotonic()
    publish_all(updates, 2)
    wall = time.monotonic() - t0
    cpu1, io1 = cpu_and_io(broker.pid)
    c.loop_stop(); c.disconnect(); broker.terminate(); broker.wait()
    return wall, cpu1 - cpu0, io1 - io0

jobs, updates = int(sys.argv[1]), int(sys.argv[2])
for name, extra in (("autosave_interval 60 (broker-config)", "autosave_interval 60"),
                    ("autosave_on_changes true, autosave_interval 1", "autosave_on_changes true\nautosave_interval 1")):
    wall, cpu, written = run(extra, jobs, updates)
    print(f"{name}: {updates} updates over {jobs} retained jobs: {wall:.2f} s, broker CPU {cpu:.2f} s ({cpu / updates * 1e6:.0f} us/update), {written / 1e6:.1f} MB written")
