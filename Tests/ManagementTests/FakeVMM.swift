/// A stand-in for `swiftvirt run`, so lifecycle tests need no /dev/kvm: it takes the same arguments,
/// listens on the control and serial sockets, speaks the control protocol and echoes serial input.
///
/// What the kernel file contains steers it: `fail-start` exits 1 at once with a message, `deaf`
/// never opens the control socket, `powerbutton` accepts that command (and exits 0, as a guest that
/// powers off would). Besides the real protocol it takes `exit N` (answers ok, exits N) so tests can
/// play a guest that powers off (0), reboots (3) or crashes (2), and `deafen` (answers ok, then
/// stops listening for control commands) to play a hung VMM.
enum FakeVMM {
    static let script = #"""
        #!/usr/bin/python3
        import json, os, select, signal, socket, sys

        args = sys.argv[1:]
        if not args or args[0] != "run":
            print("fake-vmm: expected 'run'", file=sys.stderr)
            sys.exit(1)
        options = {}
        index = 1
        flags = {"--rng"}
        while index < len(args):
            if args[index] in flags:
                options.setdefault(args[index], []).append("")
                index += 1
                continue
            if index + 1 >= len(args):
                break
            options.setdefault(args[index], []).append(args[index + 1])
            index += 2
        print("fake-vmm argv " + json.dumps(args), flush=True)
        kernel = options["--kernel"][0]
        behaviour = open(kernel).read()
        if "fail-start" in behaviour:
            print("fake-vmm: cannot load kernel: this one is marked fail-start", file=sys.stderr, flush=True)
            sys.exit(1)
        serial_path = options["--serial"][0][len("socket="):]
        control_path = options["--control-socket"][0]
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

        def listen(path):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(path)
            listener.listen(8)
            return listener

        serial = listen(serial_path)
        control = None if "deaf" in behaviour else listen(control_path)
        paused = False
        serial_client = None
        control_client = None
        pending = b""

        def reply(line):
            try:
                control_client.sendall((line + "\n").encode())
            except OSError:
                pass

        while True:
            watched = [serial_client or serial]
            if control is not None:
                watched.append(control_client or control)
            readable, _, _ = select.select(watched, [], [])
            for ready in readable:
                if ready is serial:
                    serial_client, _ = serial.accept()
                    try:
                        serial_client.sendall(b"\r\nfake-vmm serial ready\r\n")
                    except OSError:
                        serial_client.close()
                        serial_client = None
                elif ready is serial_client:
                    try:
                        data = serial_client.recv(4096)
                        if data:
                            serial_client.sendall(data.replace(b"\r", b"\r\n"))
                    except OSError:
                        data = b""
                    if not data:
                        serial_client.close()
                        serial_client = None
                elif ready is control:
                    control_client, _ = control.accept()
                    pending = b""
                elif ready is control_client:
                    try:
                        data = control_client.recv(4096)
                    except OSError:
                        data = b""
                    if not data:
                        control_client.close()
                        control_client = None
                        continue
                    pending += data
                    while b"\n" in pending:
                        line, pending = pending.split(b"\n", 1)
                        command = line.decode().strip()
                        if command == "status":
                            reply("paused" if paused else "running")
                        elif command == "pause":
                            paused = True
                            reply("ok")
                        elif command == "resume":
                            paused = False
                            reply("ok")
                        elif command == "quit":
                            reply("ok")
                            sys.exit(0)
                        elif command == "powerbutton" and "powerbutton" in behaviour:
                            reply("ok")
                            sys.exit(0)
                        elif command == "deafen":
                            reply("ok")
                            control_client.close()
                            control_client = None
                            control.close()
                            control = None
                            break
                        elif command.startswith("exit "):
                            reply("ok")
                            sys.exit(int(command[5:]))
                        else:
                            reply("error unknown command '%s' (status, pause, resume, quit)" % command)
        """#
}
