"""Stand-in for ansible-test's pip bootstrap script (get-pip.py from ci-files.testing.ansible.com,
which cannot be reached from an offline or proxied machine): pip from Python's own ensurepip,
then the pip version ansible-test asked for, from the configured package index."""

import subprocess
import sys


def main():
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    subprocess.check_call(
        [sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL
    )
    subprocess.check_call([sys.executable, "-m", "pip", "install", *args])


if __name__ == "__main__":
    main()
