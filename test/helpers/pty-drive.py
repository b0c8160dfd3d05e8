# Drives a command in a real pseudo-terminal, as a person at a terminal would: types each line of
# INPUT (argv[1], lines separated by \n) once the output holds the text before it (`expect=>line`),
# and prints {"output", "code"} as JSON when the command ends (or after the deadline, killed).
import json, os, pty, select, signal, sys, time

script, command = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(command[0], command)

output = b""
deadline = time.time() + 120

def read_some():
    global output
    ready, _, _ = select.select([fd], [], [], 0.2)
    if not ready:
        return True
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        return False
    output += chunk
    return bool(chunk)

for step in script.split("\n"):
    wanted, _, line = step.partition("=>")
    while wanted.encode() not in output and time.time() < deadline and read_some():
        pass
    os.write(fd, (line + "\n").encode())

while time.time() < deadline and read_some():
    pass
if time.time() >= deadline:
    os.kill(pid, signal.SIGKILL)
_, status = os.waitpid(pid, 0)
print(json.dumps({"output": output.decode("utf8", "replace"), "code": os.waitstatus_to_exitcode(status)}))
