# samples/: file lists
