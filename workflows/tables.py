"""Every table of the domain, on the one declarative ``Base`` of ``engine.storage.db``.

Each noun keeps its tables in its own ``models`` module; relationships name classes of other
modules, which SQLAlchemy resolves once all of them are mapped. Importing this module maps them
all: the system, Alembic's environment and the tests import it before the first query.
"""

from workflows.cases import models as cases
from workflows.coordination import models as coordination
from workflows.evaluation import models as evaluation
from workflows.org import models as org
from workflows.people import models as people
from workflows.reference import models as reference

MODULES = (org, people, reference, cases, coordination, evaluation)
