"""arXiv's category taxonomy: the codes a paper may be filed under, current and retired.

Used to reject records with an unknown category (usually a sign of a broken record or a
misread field) and to name categories in the UI. ``PAPERWIRE_EXTRA_CATEGORIES`` extends it
for categories arXiv adds after this list was written.
"""

from __future__ import annotations

import re

# Current categories, from https://arxiv.org/category_taxonomy (group: codes).
_CURRENT = """
astro-ph astro-ph.CO astro-ph.EP astro-ph.GA astro-ph.HE astro-ph.IM astro-ph.SR
cond-mat cond-mat.dis-nn cond-mat.mes-hall cond-mat.mtrl-sci cond-mat.other cond-mat.quant-gas
cond-mat.soft cond-mat.stat-mech cond-mat.str-el cond-mat.supr-con
gr-qc hep-ex hep-lat hep-ph hep-th math-ph nucl-ex nucl-th quant-ph
nlin.AO nlin.CD nlin.CG nlin.PS nlin.SI
physics.acc-ph physics.ao-ph physics.app-ph physics.atm-clus physics.atom-ph physics.bio-ph
physics.chem-ph physics.class-ph physics.comp-ph physics.data-an physics.ed-ph physics.flu-dyn
physics.gen-ph physics.geo-ph physics.hist-ph physics.ins-det physics.med-ph physics.optics
physics.plasm-ph physics.pop-ph physics.soc-ph physics.space-ph
math.AC math.AG math.AP math.AT math.CA math.CO math.CT math.CV math.DG math.DS math.FA
math.GM math.GN math.GR math.GT math.HO math.IT math.KT math.LO math.MG math.MP math.NA
math.NT math.OA math.OC math.PR math.QA math.RA math.RT math.SG math.SP math.ST
cs.AI cs.AR cs.CC cs.CE cs.CG cs.CL cs.CR cs.CV cs.CY cs.DB cs.DC cs.DL cs.DM cs.DS cs.ET
cs.FL cs.GL cs.GR cs.GT cs.HC cs.IR cs.IT cs.LG cs.LO cs.MA cs.MM cs.MS cs.NA cs.NE cs.NI
cs.OH cs.OS cs.PF cs.PL cs.RO cs.SC cs.SD cs.SE cs.SI cs.SY
q-bio.BM q-bio.CB q-bio.GN q-bio.MN q-bio.NC q-bio.OT q-bio.PE q-bio.QM q-bio.SC q-bio.TO
q-fin.CP q-fin.EC q-fin.GN q-fin.MF q-fin.PM q-fin.PR q-fin.RM q-fin.ST q-fin.TR
stat.AP stat.CO stat.ME stat.ML stat.OT stat.TH
eess.AS eess.IV eess.SP eess.SY
econ.EM econ.GN econ.TH
"""

# Archives retired or merged over the years; old papers (and the metadata snapshot) carry them.
_RETIRED = """
acc-phys adap-org alg-geom ao-sci atom-ph bayes-an chao-dyn chem-ph cmp-lg comp-gas dg-ga
funct-an mtrl-th patt-sol plasm-ph q-alg solv-int supr-con physics math cs nlin q-bio q-fin
stat eess econ
"""

CATEGORIES: frozenset[str] = frozenset((_CURRENT + _RETIRED).split())

# The shape of an arXiv category code (`cs.CL`, `hep-th`, `physics.atom-ph`); anything else
# in a categories field (ACM or MSC classes some scrapers mix in) is not a category at all.
CATEGORY_SHAPE = re.compile(r"^[a-z]+(?:-[a-z]+)?(?:\.[A-Za-z]+(?:-[a-z]+)?)?$")

# Top-level OAI-PMH sets as arXiv names them (`--set cs`, `--set physics:hep-th`).
OAI_SETS: frozenset[str] = frozenset(
    ["cs", "econ", "eess", "math", "physics", "q-bio", "q-fin", "stat"]
)


def is_known(code: str, extra: frozenset[str] | tuple[str, ...] = ()) -> bool:
    return code in CATEGORIES or code in extra
