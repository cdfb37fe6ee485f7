"""Documents generated from the code: ``python -m amelipro.docs errors [FILE]``.

``errors`` writes the list of error codes (``docs/errors.md``) from the registry
(:data:`amelipro.codes.REGISTRY`): every module named ``errors`` or ``*_errors`` under
``amelipro`` (and ``amelipro.codes``) is imported, so a code declared in any of them appears
without editing this file. ``tests/unit/test_docs_current.py`` fails when the committed file
is not the output of this command.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import amelipro
from amelipro.codes import REGISTRY, RETIRED, ErrorCode

#: French titles of the code families; a family missing here is listed under its prefix.
FAMILIES = {
    "GEN": "Codes généraux (toutes les adresses)",
    "AUTH": "Connexion, comptes et jetons d'API",
    "XML": "Lecture sûre du XML",
    "XSD": "Validation par les schémas XSD",
    "LOT": "Enveloppe du lot",
    "FSE-SIG": "Signatures des FSE",
    "FSE-LOT": "Dépôt des lots",
    "FSE-IDEM": "Clés d'idempotence des dépôts",
    "FSE-R": "Règles de facturation des FSE",
    "REF": "Référentiels (médicaments, LPP, actes, EHPAD)",
    "BEN": "Fichier des assurés (droits)",
    "TP-STA": "Tiers payant : états des paiements",
    "TP-REL": "Tiers payant : relevés bancaires et rapprochement",
    "TP-API": "Tiers payant : API",
    "TP-CFG": "Tiers payant : configuration",
    "PRA": "Secteur conventionnel et spécialité des professionnels",
    "MSG": "Messagerie avec la caisse (messages, pièces jointes, réclamations)",
    "ACC": "Compte du professionnel (inscription, second facteur, coordonnées, compte bancaire)",
}


def error_modules() -> list[str]:
    """``amelipro.codes`` and every ``errors`` / ``*_errors`` module one package deep."""
    names = ["amelipro.codes"]
    for package in pkgutil.iter_modules(amelipro.__path__, "amelipro."):
        if package.name.endswith("_errors") or package.name == "amelipro.errors":
            names.append(package.name)
        if not package.ispkg:
            continue
        module = importlib.import_module(package.name)
        for sub in pkgutil.iter_modules(module.__path__, package.name + "."):
            last = sub.name.rsplit(".", 1)[1]
            if not sub.ispkg and (last == "errors" or last.endswith("_errors")):
                names.append(sub.name)
    return sorted(names)


def load_registry() -> dict[str, ErrorCode]:
    for name in error_modules():
        importlib.import_module(name)
    return dict(REGISTRY)


def family(code: str) -> str:
    return code.rsplit("-", 1)[0]


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def errors_markdown(registry: dict[str, ErrorCode] | None = None) -> str:
    registry = load_registry() if registry is None else registry
    by_family: dict[str, list[ErrorCode]] = {}
    for code in sorted(registry):
        by_family.setdefault(family(code), []).append(registry[code])
    order = [f for f in FAMILIES if f in by_family] + sorted(set(by_family) - set(FAMILIES))
    out = [
        "# Codes d'erreur",
        "",
        "Langue : français. Fichier généré par `python -m amelipro.docs errors docs/errors.md` "
        "à partir des déclarations du code (`define(...)` dans les modules `errors`) : "
        "ne le modifiez pas à la main.",
        "",
        "Chaque erreur a un code stable, un statut HTTP, un message et, le plus souvent, un "
        "conseil pour la corriger. Un code n'est jamais renuméroté ni réutilisé. Les réponses "
        "JSON ont la forme `{\"errors\": [{\"code\", \"message\", \"hint\", \"detail\", \"path\", "
        "\"line\"...}]}` ; les erreurs d'une FSE figurent aussi dans l'accusé de réception (ARL).",
        "",
        f"{len(registry)} codes en vigueur, {len(RETIRED)} retirés.",
        "",
    ]
    for name in order:
        out += [f"## {FAMILIES.get(name, name)} (`{name}-…`)", "",
                "| Code | HTTP | Message | Conseil |", "|---|---|---|---|"]
        out += [f"| `{e.code}` | {e.status} | {_cell(e.message)} | {_cell(e.hint)} |"
                for e in by_family[name]]
        out.append("")
    out += ["## Codes retirés", "",
            "Ils ne sont plus émis et ne seront jamais réutilisés avec un autre sens : "
            + ", ".join(f"`{c}`" for c in sorted(RETIRED)) + ".", ""]
    return "\n".join(out)


COMMANDS = {"errors": errors_markdown}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS or len(argv) > 2:
        print(f"usage: python -m amelipro.docs {{{'|'.join(COMMANDS)}}} [FILE]", file=sys.stderr)
        return 2
    text = COMMANDS[argv[0]]()
    if len(argv) == 2:
        Path(argv[1]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
