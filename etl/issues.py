"""Issues: what can be wrong with a record, as values a report can show.

Every issue carries a stable code (``E_…`` rejects the record or a portal,
``W_…`` only warns), the field (source column and AVIV path), the value seen,
and a French message an agency can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Issue:
    code: str
    message: str
    severity: Severity = Severity.ERROR
    source_field: str | None = None
    aviv_path: str | None = None
    value: str | None = None
    # Portal concerned when the issue only makes one portal ineligible.
    portal: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


def error(code: str, message: str, **kw: str | None) -> Issue:
    return Issue(code=code, message=message, severity=Severity.ERROR, **kw)


def warning(code: str, message: str, **kw: str | None) -> Issue:
    return Issue(code=code, message=message, severity=Severity.WARNING, **kw)


# How to fix, per code: the heading a report shows above the listings that share a code whose
# messages differ from one listing to the next (the message itself names field and value).
HINTS: dict[str, str] = {
    "E_VALUE_INVALID": "Valeur invalide : corrigez la valeur indiquée dans le champ signalé.",
    "W_VALUE_IGNORED": "Valeur non reconnue, ignorée : corrigez-la pour qu'elle soit publiée.",
    "E_REQUIRED_MISSING": "Valeur obligatoire absente : renseignez le champ signalé.",
    "E_LINE_MALFORMED": "Ligne illisible dans le fichier : vérifiez les guillemets, séparateurs et retours à la ligne "
                        "de l'annonce dans votre logiciel, puis refaites l'export.",
    "E_LINE_TOO_LONG": "Ligne démesurément longue : l'export semble corrompu, refaites-le.",
    "E_KEY_MISSING": "Annonce sans identifiant : renseignez le champ 175 (identifiant technique).",
    "E_KEY_DUPLICATE": "Identifiant en double : deux annonces portent le même identifiant technique (champ 175).",
    "E_AGENCY_MISSING": "Agence non identifiée : renseignez le champ 1 (identifiant agence).",
    "W_LINE_QUOTES": "Guillemets manquants dans l'export : la ligne a été lue, mais vérifiez votre logiciel.",
    "W_LINE_JOINED": "Retour à la ligne dans un texte : la ligne a été recollée ; retirez-le dans votre logiciel.",
    "W_PHOTO_NOT_URL": "Photo non publiable : donnez une adresse http(s), ou configurez l'adresse de publication "
                       "des photos de l'agence.",
    "E_SCHEMA_TOO_LONG": "Texte trop long pour AVIV : raccourcissez la valeur signalée.",
    "E_SCHEMA_EXTRA": "Donnée refusée par AVIV : retirez-la.",
    "W_PLACEHOLDER_IGNORED": "Valeur par défaut ignorée : votre logiciel a écrit une valeur par défaut (0, 01/01/2000…) "
                             "au lieu de laisser le champ vide ; elle n'est pas publiée. Laissez le champ vide ou "
                             "renseignez la vraie valeur.",
    "W_GPS_INVALID": "Coordonnées GPS non publiées (illisibles, hors du pays ou loin du code postal) : corrigez-les.",
    "W_HEATING_CODE_NONSTANDARD": "Code de chauffage non standard émis par le logiciel d'envoi : signalez-le à "
                                  "l'éditeur du logiciel.",
    "W_DPE_VERSION_DATE_MISMATCH": "Version du DPE incohérente avec sa date (méthode 2021 depuis le 1er juillet 2021) : "
                                   "corrigez la version ou la date.",
    "W_FEES_UNDISCLOSED": "Honoraires à la charge de l'acquéreur sans montant ni pourcentage : l'affichage des "
                          "honoraires est obligatoire (loi Alur), renseignez-les.",
    "W_HEADLINE_MISSING": "Titre de l'annonce absent : renseignez le libellé (champ 20).",
    "W_TEXT_HTML": "Code HTML retiré d'un texte : Poliris n'accepte que <BR> ; écrivez les accents et symboles "
                   "tels quels dans votre logiciel.",
}
