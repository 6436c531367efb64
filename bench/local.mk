# bench/: file lists
