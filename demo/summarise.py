"""Demo step 4: summarise read quality in memory (a touched 100 MiB buffer shows up as peak RSS)."""
import statistics

q = [int(line.split("\t")[2]) for line in open("sorted.tsv")]
buf = bytearray(100 << 20)
buf[::4096] = b"x" * len(buf[::4096])
top = open("counts.txt").readline().split()[1]
print(f"reads={len(q)} mean_q={statistics.mean(q):.2f} top_gene={top}")
