"""Start a training command and SIGKILL it once its BackupAndRestore folder records enough
epochs (the resume-after-kill tests of the app and of single families share this)."""

import json
import signal
import subprocess
import time


def kill_after_backup(command, backup_dir, epochs, env, cwd, timeout=240):
    """Run `command`, kill it (no chance to clean up) when `backup_dir` says `epochs` epochs are
    done, and return the epoch count the backup holds after the kill."""
    proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    metadata = backup_dir / "training_metadata.json"
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        try:
            if json.loads(metadata.read_text())["epoch"] >= epochs:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    assert proc.poll() is None, "training ended before it could be killed: " + proc.stderr.read()[-2000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return json.loads(metadata.read_text())["epoch"]


def kill_and_resume(command, out, epochs, env, cwd, kill_after=2):
    """Kill `command` (an `apps/train.py` run of `epochs` epochs writing to `out`) once
    `kill_after` epochs are backed up, run it again, and check that it resumed from the backup
    and finished; return the epoch count it resumed from."""
    saved = kill_after_backup(command, out / "backup", kill_after, env, cwd)
    assert kill_after <= saved < epochs
    resumed = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"{saved} of {epochs} epochs done" in resumed.stdout
    return saved

