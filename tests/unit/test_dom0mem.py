"""dom0 memory (issue 11): the rule and its limits, the target's RAM, the answer on every front
end (flag, answers file, the target's RAM), ballooning off in the plan, the preflight warning."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from tests.kits.helpers import FIXTURES, PRECISE_ROOT, copy_root, plan_for, run_cli
from xenwizard.answers import dom0mem
from xenwizard.answers.build import answer_problem, build_config
from xenwizard.answers.clashes import Target
from xenwizard.answers.model import ConfigError, WizardConfig
from xenwizard.edits.sxp import MEMORY_KINDS, active_settings
from xenwizard.planning import dom0size
from xenwizard.planning.preflight import target_of, warnings
from xenwizard.target.probe import SystemFacts, dom0_mem_option, mem_total_mib, probe
from xenwizard.target.rootfs import RootFS

DEBIAN12 = FIXTURES / "debian-12-root"
FIXTURE_RAM = 3931  # MemTotal 4026164 kB in every fixture root's proc/meminfo


def facts(mem: int | None, hypervisor: str | None = None) -> SystemFacts:
    return SystemFacts(root="/", mem_total_mib=mem, hypervisor=hypervisor)


# --- the rule ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ram", "mib"),
    [
        (256, 512),  # below the floor's own size: the floor (and the plan warns)
        (1024, 512),  # 1 GiB of RAM: the floor, leaving 512 MiB
        (1500, 988),  # the RAM less the guests' 512 MiB is less than the rule
        (1536, 1024),  # where the guests' share stops limiting it
        (1968, 1063),  # the 2 GiB test VM
        (FIXTURE_RAM, 1102),
        (8192, 1187),
        (65536, 2334),
        (150 * 1024, 4096),  # 1 GiB + 2% reaches 4 GiB at 150 GiB
        (1024 * 1024, 4096),  # capped
    ],
)
def test_the_rule_for_ram_sizes(ram: int, mib: int) -> None:
    assert dom0mem.default_mib(ram) == mib
    assert dom0mem.MIN_MIB <= mib <= dom0mem.CAP_MIB


def test_the_default_is_never_refused_where_the_machine_can_hold_dom0() -> None:
    for ram in range(dom0mem.MIN_MIB, 300_000, 97):
        assert dom0mem.problem(dom0mem.default_mib(ram), ram) is None, ram


def test_the_rule_text_names_its_numbers() -> None:
    assert dom0mem.RULE == "1 GiB + 2% of RAM, at most 4 GiB and the RAM less 512 MiB"
    assert "\n" not in dom0mem.RULE and len(dom0mem.RULE) <= 60  # one line on the page


def test_xen_options_fix_the_size() -> None:
    assert dom0size.xen_options(1102) == ("dom0_mem=1102M,max:1102M",)


# --- sizes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mib"),
    [
        ("1024", 1024),
        ("1024M", 1024),
        ("1024m", 1024),
        ("1024MiB", 1024),
        ("1024mib", 1024),
        ("2G", 2048),
        ("2g", 2048),
        ("2GiB", 2048),
        ("2gib", 2048),
        (" 1536M ", 1536),
        ("3 GiB", 3072),
    ],
)
def test_parse_size_shapes(text: str, mib: int) -> None:
    assert dom0mem.parse_size(text) == mib
    assert dom0mem.normalise(text) == f"{mib}M"


@pytest.mark.parametrize(
    "text", ["", "M", "1.5G", "-1024", "1024K", "1024MB", "2T", "1024 M M", "0x400", "１０２４"]
)
def test_parse_size_refuses_other_shapes_in_one_line(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        dom0mem.parse_size(text)
    assert str(caught.value) == (
        "expected a size in MiB or GiB like 1024, 1024M, 1024MiB, 2G or 2GiB"
    )


def test_problem_names_the_limit() -> None:
    assert dom0mem.problem(511, 4096) == (
        "511 MiB is too little for dom0; it needs at least 512 MiB"
    )
    assert dom0mem.problem(512, 4096) is None
    assert dom0mem.problem(4096, 4096) is None
    assert dom0mem.problem(4097, 4096) == (
        "4097 MiB is more than the machine has (4096 MiB of RAM)"
    )
    assert dom0mem.problem(100_000, None) is None  # RAM unknown: no upper bound but Xen's
    assert "16 TiB" in (dom0mem.problem(dom0mem.MAX_MIB + 1, None) or "")


# --- the target's RAM ----------------------------------------------------------------------------


def test_fixture_roots_have_their_ram() -> None:
    for name in ("debian-12-root", "debian-13-root", "precise-root", "ubuntu-24.04-root"):
        found = probe(RootFS(FIXTURES / name), live=False, packages=False)
        assert (found.mem_total_mib, found.hypervisor) == (FIXTURE_RAM, None), name


@pytest.mark.parametrize(
    "text",
    [None, "", "MemFree: 100 kB\n", "MemTotal: lots kB\n", "MemTotal: 4096 MB\n", "MemTotal: 0 kB"],
    ids=["missing", "empty", "no-memtotal", "not-a-number", "not-kb", "zero"],
)
def test_odd_meminfo_gives_none(text: str | None) -> None:
    assert mem_total_mib(text) is None


def test_odd_files_in_the_root_never_crash_the_probe(tmp_path: Path) -> None:
    root = copy_root(DEBIAN12, tmp_path / "root")
    (root / "proc/meminfo").unlink()
    (root / "proc/meminfo").mkdir()  # a directory where the file should be
    (root / "sys/hypervisor").mkdir(parents=True)
    (root / "sys/hypervisor/type").write_bytes(b"\xff\xfe")
    found = probe(RootFS(root), live=False, packages=False)
    assert found.mem_total_mib is None
    (root / "proc/meminfo").rmdir()
    (root / "proc/meminfo").symlink_to("/proc/meminfo")  # out of the root: refused, not read
    assert probe(RootFS(root), live=False, packages=False).mem_total_mib is None


def test_under_xen_the_ram_figure_is_dom0s(tmp_path: Path) -> None:
    root = copy_root(DEBIAN12, tmp_path / "root")
    (root / "sys/hypervisor").mkdir(parents=True)
    (root / "sys/hypervisor/type").write_text("xen\n")
    found = probe(RootFS(root), live=False, packages=False)
    assert (found.mem_total_mib, found.hypervisor) == (FIXTURE_RAM, "xen")
    assert dom0size.machine_mib(found) is None
    assert dom0size.chosen_mib(WizardConfig(), found) == dom0mem.UNKNOWN_RAM_MIB
    assert dom0size.ram_text(found) == (
        f"unknown (this host runs Xen: /proc/meminfo shows dom0's {FIXTURE_RAM} MiB)"
    )
    assert target_of(found).mem_total_mib is None  # nothing refused against dom0's share


@pytest.mark.parametrize(
    ("text", "mib"),
    [
        ('GRUB_CMDLINE_XEN_DEFAULT="dom0_mem=1063M,max:1063M"\n', 1063),
        ('GRUB_CMDLINE_XEN="$GRUB_CMDLINE_XEN dom0_mem=2G loglvl=all"\n', 2048),
        ('GRUB_CMDLINE_XEN_DEFAULT="max:1G,dom0_mem=max:2048M"\n', None),  # no plain amount
        ('export GRUB_CMDLINE_XEN_DEFAULT="dom0_mem=min:512M,1536M,max:2G"\n', 1536),
        ('#GRUB_CMDLINE_XEN_DEFAULT="dom0_mem=1024M"\n', None),  # a comment
        ('GRUB_CMDLINE_LINUX="dom0_mem=1024M"\n', None),  # Linux's line, not Xen's
        ('GRUB_CMDLINE_XEN_DEFAULT="dom0_mem=-512M"\n', None),  # "all but": no size
        ('GRUB_CMDLINE_XEN_DEFAULT="dom0_mem=1048576"\n', None),  # bare number: not MiB
        ('GRUB_CMDLINE_XEN_DEFAULT="dom0_mem=1G"\nGRUB_CMDLINE_XEN_DEFAULT="dom0_mem=3G"\n', 3072),
    ],
)
def test_dom0_mem_option_in_grub_defaults(text: str, mib: int | None) -> None:
    assert dom0_mem_option(text) == mib


def test_a_plan_after_the_reboot_keeps_the_size_grub_gives_dom0(tmp_path: Path) -> None:
    """On the rebooted Xen host the RAM is unknown: the default is what GRUB's defaults already
    say (the last file update-grub sources wins), so plan after apply shows no new size."""
    root = copy_root(DEBIAN12, tmp_path / "root")
    (root / "sys/hypervisor").mkdir(parents=True)
    (root / "sys/hypervisor/type").write_text("xen\n")
    (root / "etc/default/grub.d").mkdir(parents=True)
    (root / "etc/default/grub").write_text('GRUB_CMDLINE_XEN_DEFAULT="dom0_mem=2G"\n')
    (root / "etc/default/grub.d/xen.cfg").write_text("# nothing about dom0 here\n")
    (root / "etc/default/grub.d/xenwizard.cfg").write_text(
        'GRUB_CMDLINE_XEN_DEFAULT="$GRUB_CMDLINE_XEN_DEFAULT dom0_mem=1500M,max:1500M"\n'
    )
    found = probe(RootFS(root), live=False, packages=False)
    assert found.configured_dom0_mem == (1500, "etc/default/grub.d/xenwizard.cfg")
    assert dom0size.chosen_mib(WizardConfig(), found) == 1500
    assert dom0size.chosen_mib(WizardConfig(dom0_mem=1536), found) == 1536
    assert dom0size.plan_note(WizardConfig(), found) == (
        "dom0 memory: 1500 MiB (as configured in etc/default/grub.d/xenwizard.cfg; RAM unknown "
        f"(this host runs Xen: /proc/meminfo shows dom0's {FIXTURE_RAM} MiB); choose with "
        "dom0-mem); ballooning off"
    )
    (root / "sys/hypervisor/type").unlink()  # RAM known again: the rule, whatever GRUB says
    assert dom0size.chosen_mib(WizardConfig(), probe(RootFS(root), live=False)) == 1102


def test_chosen_mib_is_the_answer_or_the_rule() -> None:
    assert dom0size.chosen_mib(WizardConfig(dom0_mem=2048), facts(8192)) == 2048
    assert dom0size.chosen_mib(WizardConfig(), facts(8192)) == 1187
    assert dom0size.chosen_mib(WizardConfig(), facts(None)) == 1024


# --- the answer ----------------------------------------------------------------------------------


def test_answer_is_normalised_and_written_only_when_chosen() -> None:
    assert "dom0-mem" not in WizardConfig().to_answers()
    config = build_config({"dom0-mem": "2GiB"})
    assert config.dom0_mem == 2048 and config.to_answers()["dom0-mem"] == "2048M"
    assert build_config(config.to_answers()) == config
    assert build_config({"dom0-mem": 1536}).dom0_mem == 1536  # a bare TOML number is MiB


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("lots", "expected a size in MiB or GiB like 1024, 1024M, 1024MiB, 2G or 2GiB"),
        (True, "expected a size in MiB or GiB like 1024, 1024M, 1024MiB, 2G or 2GiB"),
        ("256M", "256 MiB is too little for dom0; it needs at least 512 MiB"),
        ("5G", "5120 MiB is more than the machine has (4096 MiB of RAM)"),
    ],
)
def test_refusals_name_the_field(value: object, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_config({"dom0-mem": value}, target=Target(mem_total_mib=4096))
    assert [(p.field, p.message) for p in caught.value.problems] == [("dom0-mem", reason)]
    if isinstance(value, str):  # the TUI's validator is the same verdict
        assert answer_problem("dom0-mem", {"dom0-mem": value}, None, Target(mem_total_mib=4096))
        assert answer_problem("dom0-mem", {"dom0-mem": value}) == (
            None if value == "5G" else reason  # without the target, the RAM is not known
        )


@pytest.mark.parametrize(
    ("flag", "line"),
    [
        ("2.5G", "expected a size in MiB or GiB like 1024, 1024M, 1024MiB, 2G or 2GiB"),
        ("100", "100 MiB is too little for dom0; it needs at least 512 MiB"),
        ("4G", f"4096 MiB is more than the machine has ({FIXTURE_RAM} MiB of RAM)"),
    ],
)
def test_cli_refusals_exit_1_with_one_line(flag: str, line: str) -> None:
    done = run_cli("plan", "--root", str(DEBIAN12), "--dom0-mem", flag)
    assert done.returncode == 1
    assert done.stderr == f"xenwizard: error: invalid answer dom0-mem: {line}\n"


def test_answers_file_key_and_its_refusal(tmp_path: Path) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text('dom0-mem = "2G"\n')
    done = run_cli("plan", "--json", "--root", str(DEBIAN12), "--answers", str(answers))
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["answers"]["dom0-mem"] == "2048M"
    assert any(
        "dom0 memory: 2048 MiB (chosen with dom0-mem)" in n
        for s in plan["steps"]
        for n in s["notes"]
    )
    answers.write_text("dom0-mem = 9000\n")
    done = run_cli("plan", "--root", str(DEBIAN12), "--answers", str(answers))
    assert done.returncode == 1
    assert done.stderr == (
        "xenwizard: error: invalid answer dom0-mem: 9000 MiB is more than the machine has "
        f"({FIXTURE_RAM} MiB of RAM)\n"
    )


# --- the plan ------------------------------------------------------------------------------------


def test_debian_12_plan_sets_autoballoon_off_in_xl_conf(tmp_path: Path, reference: Path) -> None:
    """With xl.conf on the target (Xen installed; the shipped file from ../shared/reference,
    skipped without it as the other reference tests are), the plan shows the diff and why."""
    root = copy_root(DEBIAN12, tmp_path / "root")
    (root / "etc/xen").mkdir(parents=True, exist_ok=True)
    (root / "etc/xen/xl.conf").write_text((reference / "debian-12/xl.conf").read_text())
    done = run_cli("plan", "--root", str(root), "--dom0-mem", "2G")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "xl: guests' vifs join br0 by default; dom0 is never ballooned: change" in out
    assert '+autoballoon="off"' in out and '+vif.default.bridge="br0"' in out
    assert (
        f"dom0 memory: 2048 MiB (chosen with dom0-mem); {FIXTURE_RAM - 2048} MiB of "
        f"{FIXTURE_RAM} MiB left for guests; ballooning off"
    ) in out
    assert 'autoballoon="off" explicitly: xl\'s default "auto" is off only while dom0_mem' in out


def test_debian_12_default_is_the_rule_for_the_fixture_ram() -> None:
    plan = plan_for(DEBIAN12)
    step = next(s for s in plan.steps if s.id == "xl-default-bridge")
    assert (
        f"dom0 memory: 1102 MiB (the default for {FIXTURE_RAM} MiB of RAM: {dom0mem.RULE}); "
        f"{FIXTURE_RAM - 1102} MiB of {FIXTURE_RAM} MiB left for guests; ballooning off"
    ) in step.notes


def test_precise_plan_turns_xend_ballooning_off() -> None:
    done = run_cli("plan", "--root", str(PRECISE_ROOT), "--dom0-mem", "1536M")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "xend: bridged networking on br0; dom0 is never ballooned: change" in out
    for line in (
        "-(dom0-min-mem 196)",
        "+# (dom0-min-mem 196)",
        "-(enable-dom0-ballooning yes)",
        "+# (enable-dom0-ballooning yes)",
        "+(enable-dom0-ballooning no)",
        "+(dom0-min-mem 1536)",
    ):
        assert f"\n{line}\n" in out, line
    plan = plan_for(PRECISE_ROOT, WizardConfig(dom0_mem=1536))
    sxp = next(s for s in plan.steps if s.id == "xend-bridge")
    assert active_settings(sxp.after or "", MEMORY_KINDS) == {
        "enable-dom0-ballooning": [["enable-dom0-ballooning", "no"]],
        "dom0-min-mem": [["dom0-min-mem", "1536"]],
    }


def test_precise_sxp_is_convergent_and_follows_a_new_size() -> None:
    from xenwizard.edits.sxp import set_bridge_scripts

    upstream = (PRECISE_ROOT / "etc/xen/xend-config.sxp").read_text()
    once = set_bridge_scripts(upstream, "br0", 1102).text
    again = set_bridge_scripts(once, "br0", 1102)
    assert again.text == once
    assert again.notes == (
        "already set: xend uses network-bridge and vif-bridge on br0, dom0 ballooning off "
        "(minimum 1102 MiB)",
    )
    bigger = set_bridge_scripts(once, "br0", 2048).text
    assert bigger == once.replace("(dom0-min-mem 1102)", "(dom0-min-mem 2048)")


# --- preflight -----------------------------------------------------------------------------------


def test_too_little_ram_beside_dom0_is_a_warning_naming_both_numbers() -> None:
    config = WizardConfig(dom0_mem=1536)
    assert dom0size.headroom_warning(config, facts(4096)) is None
    small = dom0size.headroom_warning(config, facts(1800))
    assert small == (
        "too little RAM for dom0 plus a guest: dom0 takes 1536 MiB of 1800 MiB, leaving 264 MiB; "
        "a guest needs at least 512 MiB"
    )
    assert small in warnings(config, facts(1800))
    assert dom0size.headroom_warning(WizardConfig(), facts(768))  # the floor leaves 256 MiB
    assert dom0size.headroom_warning(config, facts(1800, "xen")) is None  # RAM unknown
    plan = plan_for(
        DEBIAN12, config, replace(probe(RootFS(DEBIAN12), live=False), mem_total_mib=1800)
    )
    assert small in plan.warnings


def test_the_wizard_refuses_an_answers_file_above_the_ram_before_its_first_page(
    tmp_path: Path,
) -> None:
    """The pages' own checks would meet the size only on its page, after earlier pages had
    re-validated the whole config against the target: the wizard stops at once instead."""
    answers = tmp_path / "answers.toml"
    answers.write_text('dom0-mem = "8G"\n')
    for where in (("--root", str(DEBIAN12)), ("--demo",)):
        done = run_cli(*where, "--answers", str(answers))
        assert done.returncode == 1
        assert done.stderr == (
            "xenwizard: error: invalid answer dom0-mem: 8192 MiB is more than the machine has "
            f"({FIXTURE_RAM} MiB of RAM)\n"
        )
