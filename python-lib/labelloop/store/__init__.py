"""What is kept: item sources and their ids, the annotation journal, the datasets materialised
from it, and the session counters (DESIGN.md section 3)."""
