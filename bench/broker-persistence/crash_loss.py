#!/usr/bin/python3
# Which acknowledged retained updates survive a kill -9 of Mosquitto, with
# broker-config's autosave_interval 60 and with autosave_on_changes true +
# autosave_interval 1 (docs/reliability.md, "Broker kill -9"). Loopback only.
# Usage: crash_loss.py JOBS
import os, sys, time, subprocess, tempfile, socket, signal
import paho.mqtt.client as mqtt

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def start(conf):
    b = subprocess.Popen(["/usr/sbin/mosquitto", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5); return b

def client(port, cid):
    c = mqtt.Client(client_id=cid, protocol=mqtt.MQTTv5)
    c.max_inflight_messages_set(1000); c.max_queued_messages_set(0)
    c.connect("127.0.0.1", port); c.loop_start(); return c

def run(extra, jobs, pause):
    d = tempfile.mkdtemp(prefix="crash-"); os.chmod(d, 0o777)  # a broker started as root runs as user mosquitto; port = free_port(); conf = f"{d}/m.conf"
    open(conf, "w").write(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {d}/\nmax_queued_messages 100000\n{extra}\n")
    b = start(conf); c = client(port, "w")
    infos = [c.publish(f"users/u/jobs/j{i}", "first", qos=1, retain=True) for i in range(jobs)]
    for i in infos: i.wait_for_publish(60)
    time.sleep(2.5)  # let any autosave of the first states happen
    infos = [c.publish(f"users/u/jobs/j{i}", "second", qos=1, retain=True) for i in range(jobs)]
    for i in infos: i.wait_for_publish(60)   # every one acknowledged
    time.sleep(pause)
    b.send_signal(signal.SIGKILL); b.wait(); c.loop_stop()
    b = start(conf)
    got = {}
    r = mqtt.Client(client_id="r", protocol=mqtt.MQTTv5)
    r.on_message = lambda cl, u, m: got.__setitem__(m.topic, m.payload)
    r.connect("127.0.0.1", port); r.subscribe("users/#", qos=1); r.loop_start(); time.sleep(2); r.loop_stop()
    b.terminate(); b.wait()
    return sum(1 for v in got.values() if v == b"second"), len(got)

jobs = int(sys.argv[1])
for name, extra in (("autosave_interval 60", "autosave_interval 60"),
                    ("autosave_on_changes true + autosave_interval 1", "autosave_on_changes true\nautosave_interval 1")):
    for pause in (0.0, 1.5):
        kept, total = run(extra, jobs, pause)
        print(f"{name}, kill -9 {pause:.1f} s after the last PUBACK: {kept} of {jobs} acknowledged updates survived ({total} retained)")
