from ktasm.cli import main

main()
