"""Demo step 1: simulate sequencing reads (read id, gene, quality) into reads.tsv."""
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 300_000
random.seed(7)
genes = [f"GENE{i:04d}" for i in range(2000)]
with open("reads.tsv", "w") as f:
    for i in range(n):
        f.write(f"read{i}\t{random.choice(genes)}\t{random.randint(20, 60)}\n")
